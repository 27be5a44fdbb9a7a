import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configJsonSchema, configJsonSchemaText } from '../../src/config/json-schema.js';
import { validateConfig } from '../../src/config/validate.js';
import { ConfigError } from '../../src/errors.js';

const ssh = { host: 'b', user: 'u', fingerprint: `SHA256:${'A'.repeat(43)}`, keyFile: '/k' };
const table = { name: 't' };
const target = { name: 'db_1', host: 'h', tables: [table] };
const base = { source: { host: 'h' }, targets: [target] };

/** The keys validateConfig accepts where `place` puts an unknown key, from its error. */
function acceptedKeys(place: (key: string) => unknown): string[] {
  try {
    validateConfig(place('zz_unknown'));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const line = error.problems.find((p) => p.includes('zz_unknown'));
    const list = /expected one of ([^)]*)\)/.exec(line ?? '')?.[1];
    if (list) return list.split(', ').sort();
  }
  throw new Error('no unknown-key error');
}

function schemaKeys(def: object | undefined): string[] {
  return Object.keys((def as { properties: object }).properties).sort();
}

describe('pgcopy.schema.json (bug: nothing helped write the YAML)', () => {
  it('is what npm run schema writes (a stale file fails here)', () => {
    const onDisk = readFileSync(new URL('../../pgcopy.schema.json', import.meta.url), 'utf8');
    expect(onDisk).toBe(configJsonSchemaText());
  });

  it('names every key validate.ts accepts, at every level, and no other', () => {
    const schema = configJsonSchema();
    const defs = schema.$defs as Record<string, object>;
    const levels: [string, object | undefined, (key: string) => unknown][] = [
      ['root', schema, (k) => ({ ...base, [k]: 1 })],
      ['source', defs.endpoint, (k) => ({ ...base, source: { host: 'h', [k]: 1 } })],
      ['target', defs.target, (k) => ({ ...base, targets: [{ ...target, [k]: 1 }] })],
      [
        'table',
        defs.table,
        (k) => ({ ...base, targets: [{ ...target, tables: [{ ...table, [k]: 1 }] }] }),
      ],
      ['ssh', defs.ssh, (k) => ({ ...base, source: { host: 'h', ssh: { ...ssh, [k]: 1 } } })],
      [
        'serverAddress',
        defs.serverAddress,
        (k) => ({ ...base, source: { host: 'h', serverAddress: { host: 'x', [k]: 1 } } }),
      ],
      ['secrets', defs.secrets, (k) => ({ ...base, secrets: { provider: 'env', [k]: 1 } })],
      ['options', defs.options, (k) => ({ ...base, options: { [k]: 1 } })],
      [
        'columns',
        defs.columns,
        (k) => ({ ...base, targets: [{ ...target, tables: [{ ...table, columns: { [k]: 1 } }] }] }),
      ],
      ['split', defs.split, (k) => ({ ...base, options: { split: { [k]: 1 } } })],
    ];
    for (const [level, def, place] of levels) {
      expect([level, schemaKeys(def)]).toEqual([level, acceptedKeys(place)]);
    }
  });
});
