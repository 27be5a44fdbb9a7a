import { describe, expect, it } from 'vitest';
import type { DataRule, DataRules } from '../../src/config/types.js';
import {
  hasDataRules,
  ruleFor,
  unmatchedTableKeys,
  type RuleLevels,
} from '../../src/masking/rule-match.js';

const value = (v: string): DataRule => ({ kind: 'value', value: v });

/** The key (and level) that gives a column its rule, or undefined. */
function keyFor(levels: RuleLevels, table: string, column: string): string | undefined {
  return ruleFor(levels, table, column)?.from;
}

/** One level's rules, each writing its own key as its value (so the winner is visible). */
function level(...keys: string[]): DataRules {
  return Object.fromEntries(keys.map((k) => [k, value(k)]));
}

const run = (...keys: string[]): RuleLevels => ({ run: level(...keys), targetName: 'db_1' });

describe('ruleFor: levels', () => {
  const levels: RuleLevels = {
    run: level('email', 'users.phone', 'notes'),
    target: level('email', 'ssn'),
    table: level('*'),
    targetName: 'db_1',
  };

  it('the table level first, then the target, then the run', () => {
    expect(ruleFor(levels, 'users', 'email')).toEqual({
      rule: value('*'),
      from: 'target db_1, table users: dataRules["*"]',
    });
    const targetOnly: RuleLevels = { ...levels, table: undefined };
    expect(ruleFor(targetOnly, 'users', 'email')).toEqual({
      rule: value('email'),
      from: 'target db_1: dataRules["email"]',
    });
    expect(ruleFor(targetOnly, 'users', 'notes')).toEqual({
      rule: value('notes'),
      from: 'options.dataRules["notes"]',
    });
  });

  it('a narrower level decides even with a less specific key than a wider level', () => {
    // users.phone is exact at the run level; the table level's `*` still wins.
    expect(keyFor(levels, 'users', 'phone')).toBe('target db_1, table users: dataRules["*"]');
  });

  it('a column no level names has no rule; empty and absent levels are skipped', () => {
    expect(ruleFor({ targetName: 'db_1' }, 'users', 'email')).toBeUndefined();
    expect(ruleFor({ run: {}, target: {}, table: {}, targetName: 'db_1' }, 'users', 'email')).toBe(
      undefined,
    );
    expect(ruleFor({ ...levels, table: undefined }, 'users', 'id')).toBeUndefined();
    // users.phone names another table than orders.
    expect(ruleFor({ ...levels, table: undefined }, 'orders', 'phone')).toBeUndefined();
  });
});

describe('ruleFor: the most specific key of a level', () => {
  it('an exact column beats any pattern, even one with a named table', () => {
    const levels = run('users.*mail', 'e*', 'email');
    expect(keyFor(levels, 'users', 'email')).toBe('options.dataRules["email"]');
  });

  it('a named table beats a table pattern, which beats no table', () => {
    const levels = run('email', 'u*.email', 'users.email');
    expect(keyFor(levels, 'users', 'email')).toBe('options.dataRules["users.email"]');
    expect(keyFor(run('email', 'u*.email'), 'users', 'email')).toBe(
      'options.dataRules["u*.email"]',
    );
    expect(keyFor(run('u*.email', 'email'), 'orders', 'email')).toBe('options.dataRules["email"]');
  });

  it('among column patterns, the one with more literal characters; a tie goes to the first written', () => {
    expect(keyFor(run('*', 'e*', 'em*l'), 't', 'email')).toBe('options.dataRules["em*l"]');
    expect(keyFor(run('em*', '*il'), 't', 'email')).toBe('options.dataRules["em*"]');
    expect(keyFor(run('*il', 'em*'), 't', 'email')).toBe('options.dataRules["*il"]');
    // A table pattern adds less than a named table, more than the column pattern's letters.
    expect(keyFor(run('user?.*', 'emai*'), 'users', 'email')).toBe('options.dataRules["user?.*"]');
    expect(keyFor(run('users.*', 'user?.e*'), 'users', 'email')).toBe(
      'options.dataRules["users.*"]',
    );
  });
});

describe('ruleFor: pattern forms', () => {
  it('`*` matches any run of characters, also none', () => {
    const levels = run('encrypted_*');
    expect(keyFor(levels, 't', 'encrypted_')).toBeDefined();
    expect(keyFor(levels, 't', 'encrypted_card')).toBeDefined();
    expect(keyFor(levels, 't', 'not_encrypted_card')).toBeUndefined();
    expect(keyFor(run('*_at'), 't', 'created_at')).toBeDefined();
    expect(keyFor(run('*_at'), 't', 'created_at_utc')).toBeUndefined();
    expect(keyFor(run('a*b*c'), 't', 'axxbyyc')).toBeDefined();
  });

  it('`?` matches exactly one character', () => {
    const levels = run('code?');
    expect(keyFor(levels, 't', 'code1')).toBeDefined();
    expect(keyFor(levels, 't', 'code')).toBeUndefined();
    expect(keyFor(levels, 't', 'code12')).toBeUndefined();
  });

  it('names are case-sensitive, and other characters are literal', () => {
    expect(keyFor(run('email'), 't', 'Email')).toBeUndefined();
    expect(keyFor(run('E*'), 't', 'email')).toBeUndefined();
    expect(keyFor(run('x+*'), 't', 'x+y')).toBeDefined();
    expect(keyFor(run('x+*'), 't', 'xxy')).toBeUndefined();
    expect(keyFor(run('(a)*'), 't', '(a)b')).toBeDefined();
    expect(keyFor(run('[ab]*'), 't', 'a')).toBeUndefined();
    expect(keyFor(run('$*^'), 't', '$x^')).toBeDefined();
  });

  it('table patterns match the table name; only the first dot separates table and column', () => {
    expect(keyFor(run('user_*.email'), 'user_2024', 'email')).toBeDefined();
    expect(keyFor(run('user_*.email'), 'users', 'email')).toBeUndefined();
    expect(keyFor(run('t?.email'), 't1', 'email')).toBeDefined();
    expect(keyFor(run('t?.email'), 't10', 'email')).toBeUndefined();
    expect(keyFor(run('users.a.b'), 'users', 'a.b')).toBe('options.dataRules["users.a.b"]');
    expect(keyFor(run('users.a.b'), 'users.a', 'b')).toBeUndefined();
    expect(keyFor(run('*.*'), 'any', 'thing')).toBeDefined();
  });
});

describe('unmatchedTableKeys', () => {
  const columns = ['id', 'email', 'phone'];

  it('names exact keys of this table that match no column (typos)', () => {
    const rules = level('emial', 'email', 'users.phnoe', 'users.phone', 'u*.fax');
    expect(unmatchedTableKeys(rules, 'users', columns)).toEqual(['emial', 'users.phnoe', 'u*.fax']);
  });

  it('leaves out column patterns and keys of other tables', () => {
    const rules = level('*_at', 'users.enc_*', 'orders.total', 'o*.total');
    expect(unmatchedTableKeys(rules, 'users', columns)).toEqual([]);
    expect(unmatchedTableKeys(undefined, 'users', columns)).toEqual([]);
  });
});

describe('hasDataRules', () => {
  const table = { dataRules: level('email') };
  const none = { options: {}, targets: [{ tables: [{}] }] };

  it('is false without rules or with only empty ones', () => {
    expect(hasDataRules(none)).toBe(false);
    expect(
      hasDataRules({
        options: { dataRules: {} },
        targets: [{ dataRules: {}, tables: [{ dataRules: {} }] }],
      }),
    ).toBe(false);
    expect(hasDataRules({ options: {}, targets: [] })).toBe(false);
  });

  it('is true with a rule at any level', () => {
    expect(hasDataRules({ ...none, options: { dataRules: level('email') } })).toBe(true);
    expect(hasDataRules({ options: {}, targets: [{ tables: [], ...table }] })).toBe(true);
    expect(
      hasDataRules({ options: {}, targets: [{ tables: [{}] }, { tables: [{}, table] }] }),
    ).toBe(true);
  });
});
