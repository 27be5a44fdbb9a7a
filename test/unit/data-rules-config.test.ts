import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { ruleFor } from '../../src/masking/rule-match.js';
import { redactContext, redactDetail, redactMessage } from '../../src/report/redact-values.js';
import { derivedMaskKey, maskKeyOptions } from '../../src/masking/mask-key.js';

const source = { url: 'postgres://u:p@127.0.0.1:5432/app' };
const target = { name: 'db_1', host: '127.0.0.1', database: 'app', user: 'u', tables: ['t'] };

function errorOf(options: unknown, targets: unknown[] = [target]): string {
  try {
    parseConfig(stringify({ source, targets, options }), {}, 'pgcopy.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('dataRules and maskKey in the config', () => {
  it('parses every kind of rule at every level', () => {
    const config = parseConfig(
      stringify({
        source,
        targets: [
          {
            ...target,
            dataRules: { 'encrypted_*': null },
            tables: [{ name: 't', dataRules: { card: { mask: 'partial', first: 2 } } }],
          },
        ],
        options: {
          dataRules: {
            email: { mask: 'email' },
            code: { value: 7 },
            x: { expression: 'lower(x)' },
          },
          maskKey: { secret: 'mask-key' },
          redactValues: true,
        },
      }),
      {},
      'pgcopy.yaml',
    );
    expect(config.options.dataRules).toEqual({
      email: { kind: 'mask', mask: 'email' },
      code: { kind: 'value', value: '7' },
      x: { kind: 'expression', expression: 'lower(x)' },
    });
    expect(config.options.maskKey).toEqual({ secret: 'mask-key' });
    expect(config.options.redactValues).toBe(true);
    expect(config.targets[0]?.dataRules).toEqual({ 'encrypted_*': { kind: 'null' } });
    expect(config.targets[0]?.tables[0]?.dataRules).toEqual({
      card: { kind: 'mask', mask: 'partial', first: 2, last: 4 },
    });
  });

  it.each<[string, unknown, string]>([
    [
      'a keyed rule without a key',
      { dataRules: { email: { mask: 'email' } } },
      'options.maskKey: is required by the keyed rule options.dataRules.email: give { env: VAR } or { secret: NAME }',
    ],
    [
      'a key written in the file (never repeated)',
      { maskKey: 'hunter2hunter2hunter2' },
      'options.maskKey: expected { env: VAR } or { secret: NAME } (a key is never written in the config), got a literal value (not shown)',
    ],
    [
      'an unknown mask',
      { dataRules: { email: { mask: 'emial' } } },
      'options.dataRules.email.mask: expected one of email, phone, letter, int, date, time, ip, partial, hash, got "emial"',
    ],
    [
      'an expression that escapes its statement',
      { dataRules: { x: { expression: 'x); DROP TABLE t; --' } } },
      'options.dataRules.x.expression: has a ")" without its "(": one expression',
    ],
    [
      'two rules in one',
      { dataRules: { x: { value: 1, mask: 'hash' } } },
      'options.dataRules.x: expected exactly one of value, expression or mask, got value and mask',
    ],
    [
      'first without partial',
      { dataRules: { x: { mask: 'hash', first: 2 } }, maskKey: { env: 'K' } },
      'options.dataRules.x: first and last go with mask: partial only',
    ],
    [
      'a key with two dots',
      { dataRules: { 'a.b.c': null } },
      'options.dataRules.a.b.c: "a.b.c": expected a column name or pattern, or table.column',
    ],
  ])('%s', (_, options, message) => {
    const error = errorOf(options);
    expect(error).toContain(message);
    expect(error).not.toContain('hunter2');
  });
});

describe('which rule a column takes', () => {
  const levels = {
    targetName: 'db_1',
    run: {
      '*email': { kind: 'mask', mask: 'hash' },
      email: { kind: 'mask', mask: 'email' },
      'users.email': { kind: 'null' },
    },
    target: { 'orders.*': { kind: 'value', value: 'x' } },
    table: undefined,
  } as const;

  it('the most specific key of the most specific level', () => {
    expect(ruleFor(levels, 'users', 'email')?.from).toBe('options.dataRules["users.email"]');
    expect(ruleFor(levels, 'people', 'email')?.from).toBe('options.dataRules["email"]');
    expect(ruleFor(levels, 'people', 'work_email')?.from).toBe('options.dataRules["*email"]');
    expect(ruleFor(levels, 'orders', 'email')?.from).toBe('target db_1: dataRules["orders.*"]');
    expect(ruleFor(levels, 'people', 'name')).toBeUndefined();
    expect(
      ruleFor({ ...levels, table: { email: { kind: 'null' } } }, 'orders', 'email')?.from,
    ).toBe('target db_1, table orders: dataRules["email"]');
  });
});

describe('values out of PostgreSQL messages', () => {
  it('keeps the names, drops the values', () => {
    expect(redactMessage('invalid input syntax for type integer: "twelve"')).toBe(
      'invalid input syntax for type integer: "[value redacted]"',
    );
    expect(
      redactMessage(
        'null value in column "email" of relation "users" violates not-null constraint',
      ),
    ).toBe('null value in column "email" of relation "users" violates not-null constraint');
    expect(redactMessage('value "99999999999" is out of range for type integer')).toBe(
      'value "[value redacted]" is out of range for type integer',
    );
    expect(redactDetail('Key (email)=(a@b.example) already exists.')).toBe(
      'Key (email)=([value redacted]) already exists.',
    );
    expect(redactDetail('Failing row contains (1, a@b.example, null).')).toBe(
      'Failing row contains ([value redacted]).',
    );
    expect(redactContext('COPY users, line 3, column email: "a@b.example"')).toBe(
      'COPY users, line 3, column email',
    );
    expect(redactContext('COPY users, line 3: "3\ta@b.example"')).toBe('COPY users, line 3');
  });
});

describe('the mask key', () => {
  it('the sessions get a key derived from it, as a startup option', () => {
    const derived = derivedMaskKey('a key of sixteen+ bytes');
    expect(derived).toMatch(/^[0-9a-f]{32}$/);
    expect(derivedMaskKey('a key of sixteen+ bytes')).toBe(derived);
    expect(derivedMaskKey('another key of sixteen bytes')).not.toBe(derived);
    expect(maskKeyOptions(derived)).toBe(`-c pgcopy.mask_key=${derived}`);
  });
});
