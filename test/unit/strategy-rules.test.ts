import { describe, expect, it } from 'vitest';
import type { TableInfo } from '../../src/db/catalog.js';
import { extensionNeed, strategyRules, type StrategyInput } from '../../src/plan/strategy-rules.js';

const table: TableInfo = {
  schema: 's',
  name: 't',
  references: [],
  referencedBy: [],
  sequences: [],
  triggers: [],
  kind: 'r',
  inheritanceChildren: [],
  inheritsFrom: [],
  columns: [],
  keys: [],
  estimatedRows: 0,
  estimatedBytes: 0,
};

function input(overrides: Partial<StrategyInput>): StrategyInput {
  return {
    strategy: 'dblink',
    targetName: 'one',
    mode: 'append',
    where: undefined,
    source: table,
    columns: ['id'],
    identityAlways: [],
    disableTriggers: false,
    extensions: { source: 'installed', target: 'installed' },
    createExtensions: false,
    ...overrides,
  };
}

describe('strategyRules: what a server-side strategy needs and cannot do', () => {
  it('names the side and extension each strategy runs', () => {
    expect(extensionNeed('stream')).toBeUndefined();
    expect(extensionNeed('dblink')).toEqual({ side: 'target', extension: 'dblink' });
    expect(extensionNeed('fdw')).toEqual({ side: 'target', extension: 'postgres_fdw' });
    expect(extensionNeed('fdw-push')).toEqual({ side: 'source', extension: 'postgres_fdw' });
  });

  it('stream needs nothing, whatever the extensions', () => {
    const rules = strategyRules(
      input({ strategy: 'stream', extensions: { source: 'missing', target: 'missing' } }),
    );
    expect(rules).toEqual({ errors: [], notes: [], createsExtension: undefined });
  });

  it('a missing extension: the SQL to run, creation on request, or not available at all', () => {
    const absent = { source: 'installed', target: 'available' } as const;
    expect(strategyRules(input({ extensions: absent })).errors).toEqual([
      'strategy dblink: the dblink extension is not installed on target "one": a superuser runs "CREATE EXTENSION dblink;" there, or set options.createExtensions: true',
    ]);
    const created = strategyRules(input({ extensions: absent, createExtensions: true }));
    expect([created.errors, created.notes, created.createsExtension]).toEqual([
      [],
      ['creates the dblink extension on target "one" before copying'],
      { side: 'target', extension: 'dblink' },
    ]);
    const push = strategyRules(
      input({
        strategy: 'fdw-push',
        extensions: { source: 'missing', target: 'installed' },
        createExtensions: true,
      }),
    );
    expect(push.errors).toEqual([
      "strategy fdw-push: the postgres_fdw extension is not available on the source (its server lacks PostgreSQL's contrib modules)",
    ]);
  });

  it('fdw: its own instant, no where filter, no inheritance parent', () => {
    const rules = strategyRules(
      input({
        strategy: 'fdw',
        where: 'id > 1',
        source: { ...table, inheritanceChildren: [{ schema: 's', table: 'child' }] },
      }),
    );
    expect(rules.notes[0]).toContain('at its own instant');
    expect(rules.errors).toEqual([
      'strategy fdw: a where filter would run on the target, not the source; use dblink or stream',
      "strategy fdw: postgres_fdw reads an inheritance parent with its children's rows; use dblink or stream",
    ]);
  });

  it('fdw-push: no upsert, no GENERATED ALWAYS identity, no disableTriggers; no table without columns', () => {
    const rules = strategyRules(
      input({
        strategy: 'fdw-push',
        mode: 'upsert',
        identityAlways: ['id'],
        disableTriggers: true,
        columns: [],
      }),
    );
    expect(
      rules.errors.map((e) => e.split(':')[1]?.trim().split(' ').slice(0, 3).join(' ')),
    ).toEqual([
      'a table without',
      'postgres_fdw cannot INSERT',
      'a GENERATED ALWAYS',
      'disableTriggers applies to',
    ]);
  });
});
