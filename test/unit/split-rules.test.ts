import { describe, expect, it } from 'vitest';
import { quantiles } from '../../src/copy/split/key-bounds.js';
import { blockRanges, keyPartPlan, partPlan, rangesBetween } from '../../src/copy/split/ranges.js';
import type { ColumnInfo, TableInfo, UniqueKey } from '../../src/db/catalog.js';
import { integerKeyOf } from '../../src/plan/split-key.js';
import {
  applySplitRules,
  limitSplit,
  splitSettingOf,
  type SplitFacts,
} from '../../src/plan/split-rules.js';
import type { TablePlan } from '../../src/plan/types.js';
import { planToJson, renderPlan } from '../../src/plan/render-plan.js';
import { partsMayWait, type ConflictIndex } from '../../src/plan/split-conflicts.js';
import { tablePlan } from '../support/table-plan.js';

const GB = 1024 ** 3;
const big = tablePlan({ estimatedBytes: 2 * GB });
const facts: SplitFacts = {
  setting: { minBytes: GB, parts: 2 },
  sourceVersion: 170000,
  maxPreparedTransactions: 4,
  concurrency: 4,
};

const reason = (table: TablePlan, changed: Partial<SplitFacts> = {}): string | undefined =>
  applySplitRules(table, { ...facts, ...changed }).split?.reason;

describe('split rules: where a table can be copied in parts and stay all-or-nothing', () => {
  it('splits a big plain stream table in append mode, within the concurrency', () => {
    expect(applySplitRules(big, facts).split).toEqual({ parts: 2, by: 'blocks' });
    expect(applySplitRules(big, { ...facts, setting: { minBytes: GB, parts: 8 } }).split).toEqual({
      parts: 4,
      by: 'blocks',
    });
  });

  it('splits by an integer key where block ranges cannot be used: PostgreSQL 13, a partitioned source', () => {
    const keyed = { ...facts, integerKey: 'id' };
    expect(applySplitRules(big, keyed).split).toEqual({ parts: 2, by: 'blocks' });
    const old = applySplitRules(big, { ...keyed, sourceVersion: 130023 });
    expect(old.split).toEqual({ parts: 2, by: 'key', key: 'id' });
    expect(old.notes).toEqual(['split into 2 parts by key id, committed together']);
    const partitioned = tablePlan({ ...big, sourceKind: 'p' });
    expect(applySplitRules(partitioned, keyed).split).toEqual({ parts: 2, by: 'key', key: 'id' });
    // The other rules still hold for a key split.
    expect(reason(partitioned, { integerKey: 'id', concurrency: 1 })).toBe(
      'concurrency 1 leaves no slot for a second part',
    );
  });

  it('says why a table stays one stream', () => {
    expect(reason(tablePlan({ ...big, strategy: 'dblink' }))).toBe('strategy dblink is not stream');
    expect(reason(tablePlan({ ...big, mode: 'truncate' }))).toContain('truncate mode');
    expect(reason(tablePlan({ ...big, mode: 'upsert' }))).toContain('upsert');
    // bug: insert-new was split, and every part but the first failed to PREPARE (0A000).
    expect(reason(tablePlan({ ...big, mode: 'insert-new' }))).toBe(
      'insert-new writes through a temporary staging table, and a transaction that used one cannot be prepared to commit with the other parts',
    );
    const noKey =
      'and it has no integer key to split by (a single-column NOT NULL unique key of type smallint, integer or bigint)';
    expect(reason(tablePlan({ ...big, sourceKind: 'p' }))).toBe(
      `the source is partitioned (no block ranges), ${noKey}`,
    );
    expect(reason(tablePlan({ ...big, sourceKind: 'v' }))).toBe(
      `the source is a view (no block ranges), ${noKey}`,
    );
    expect(reason(tablePlan({ ...big, sourceKind: 'x' }))).toBe(
      `the source is not a plain table (no block ranges), ${noKey}`,
    );
    expect(reason(tablePlan({ ...big, estimatedBytes: 5_000_000 }))).toBe(
      '5.0 MB is under split.minBytes (1073.7 MB)',
    );
    expect(reason(big, { sourceVersion: 130011 })).toBe(
      `the source is PostgreSQL 13: block ranges need 14 or later, ${noKey}`,
    );
    expect(reason(big, { concurrency: 1 })).toBe('concurrency 1 leaves no slot for a second part');
    expect(reason(big, { maxPreparedTransactions: undefined })).toBe(
      "the target's max_prepared_transactions is 0; committing the parts together needs at least 1",
    );
  });

  it('leaves tables alone when split is off or the table has errors', () => {
    expect(applySplitRules(big, { ...facts, setting: undefined })).toBe(big);
    const failing = tablePlan({ ...big, errors: ['no such table'] });
    expect(applySplitRules(failing, facts)).toBe(failing);
    expect(splitSettingOf(undefined, false, { minBytes: 1, parts: 2 })).toBeUndefined();
    expect(splitSettingOf(undefined, undefined, { minBytes: 1, parts: 2 })).toEqual({
      minBytes: 1,
      parts: 2,
    });
  });

  it('fits a split to the run: its concurrency, and none under --verify', () => {
    const split = applySplitRules(big, { ...facts, setting: { minBytes: GB, parts: 4 } });
    expect(limitSplit(split, { concurrency: 4, verify: false })).toBe(split);
    const fewer = limitSplit(split, { concurrency: 3, verify: false });
    expect(fewer.split).toEqual({ parts: 3, by: 'blocks' });
    const byKey = applySplitRules(tablePlan({ ...big, sourceKind: 'p' }), {
      ...facts,
      setting: { minBytes: GB, parts: 4 },
      integerKey: 'id',
    });
    expect(limitSplit(byKey, { concurrency: 2, verify: false }).split).toEqual({
      parts: 2,
      by: 'key',
      key: 'id',
    });
    expect(fewer.notes).toEqual(['split into 3 parts by block ranges, committed together']);
    expect(limitSplit(split, { concurrency: 1, verify: false }).split?.reason).toBe(
      'concurrency 1 leaves no slot for a second part',
    );
    expect(limitSplit(split, { concurrency: 4, verify: true }).notes).toEqual([
      'not split: --verify checks a table inside one transaction',
    ]);
    expect(limitSplit(big, { concurrency: 1, verify: true })).toBe(big);
  });

  it('shows the decision in the plan, as text and JSON', () => {
    const split = applySplitRules(big, facts);
    const plan = {
      sourceSchema: 's',
      targets: [{ name: 'one', schema: 't', tables: [split, big] }],
    };
    expect(renderPlan(plan)).toContain('split into 2 parts by block ranges, committed together');
    const json = planToJson(plan) as { targets: { tables: Record<string, unknown>[] }[] };
    expect(json.targets[0]?.tables.map((t) => t.split)).toEqual([
      { parts: 2, by: 'blocks' },
      undefined,
    ]);
    const byKey = applySplitRules(big, { ...facts, sourceVersion: 130000, integerKey: 'id' });
    const keyed = { ...plan, targets: [{ name: 'one', schema: 't', tables: [byKey] }] };
    expect(renderPlan(keyed)).toContain('split into 2 parts by key id, committed together');
    const keyedJson = planToJson(keyed) as { targets: { tables: Record<string, unknown>[] }[] };
    expect(keyedJson.targets[0]?.tables[0]?.split).toEqual({ parts: 2, by: 'key', key: 'id' });
  });
});

describe('block ranges', () => {
  it('cover every block once, the first and last open-ended', () => {
    expect(blockRanges(10, 3)).toEqual([{ to: 3 }, { from: 3, to: 6 }, { from: 6 }]);
    expect(blockRanges(0, 2)).toEqual([{ to: 0 }, { from: 0 }]);
  });

  it('add the range to the where filter, on a line of its own after it', () => {
    expect(partPlan(big, { from: 3, to: 6 }).where).toBe(
      "ctid >= '(3,0)'::tid AND ctid < '(6,0)'::tid",
    );
    expect(partPlan(tablePlan({ where: 'a -- note' }), { to: 3 }).where).toBe(
      "(a -- note\n) AND ctid < '(3,0)'::tid",
    );
    expect(partPlan(big, {}).where).toBeUndefined();
  });
});

describe('key ranges', () => {
  it('cover every key once, between the bounds, the first and last open-ended', () => {
    expect(rangesBetween(['-5', '10'])).toEqual([
      { to: '-5' },
      { from: '-5', to: '10' },
      { from: '10' },
    ]);
    expect(rangesBetween([])).toEqual([{}]);
  });

  it('read the key by a quoted name, its bounds as literals, after the where filter', () => {
    const table = tablePlan({ where: 'a -- note' });
    expect(keyPartPlan(table, 'Key "id"', { from: '-9223372036854775808', to: '7' }).where).toBe(
      `(a -- note\n) AND "Key ""id""" >= '-9223372036854775808' AND "Key ""id""" < '7'`,
    );
    expect(keyPartPlan(big, 'id', {}).where).toBeUndefined();
  });

  it('take their bounds at even steps through the histogram, whatever its length', () => {
    const histogram = ['0', '10', '20', '30', '40', '50', '60', '70', '80', '90', '100'];
    expect(quantiles(histogram, 2)).toEqual(['50']);
    expect(quantiles(histogram, 4)).toEqual(['30', '50', '80']);
    expect(quantiles(['1', '9'], 3)).toEqual(['1', '9']);
  });
});

describe('the integer key a table can be split by', () => {
  const column = (name: string, type: string) => ({ name, type }) as ColumnInfo;
  const key = (columns: string[], notNull = true, primary = false): UniqueKey => ({
    name: `k_${columns.join('_')}`,
    primary,
    columns,
    notNull,
    nullsNotDistinct: false,
    deferrable: false,
  });
  const table = (keys: UniqueKey[]) =>
    ({
      columns: [
        column('id', 'bigint'),
        column('small', 'smallint'),
        column('code', 'text'),
        column('n', 'numeric'),
        column('other', 'integer'),
      ],
      keys,
    }) as unknown as TableInfo;

  it('is a single-column NOT NULL unique smallint, integer or bigint, the primary key first', () => {
    expect(integerKeyOf(table([key(['id'], true, true), key(['other'])]))).toBe('id');
    expect(integerKeyOf(table([key(['small'])]))).toBe('small');
    expect(integerKeyOf(table([key(['code']), key(['n']), key(['other'])]))).toBe('other');
  });

  it('is none for text or numeric keys, nullable ones, multi-column ones, or no table', () => {
    expect(integerKeyOf(table([key(['code']), key(['n'])]))).toBeUndefined();
    expect(integerKeyOf(table([key(['id'], false)]))).toBeUndefined();
    expect(integerKeyOf(table([key(['id', 'other'])]))).toBeUndefined();
    expect(integerKeyOf(table([key(['gone'])]))).toBeUndefined();
    expect(integerKeyOf(undefined)).toBeUndefined();
  });
});

describe('parts that could wait on each other', () => {
  const types: Record<string, [string, string]> = {
    id: ['integer', 'integer'],
    k: ['integer', 'bigint'],
    f: ['double precision', 'real'],
    n: ['numeric', 'integer'],
    t: ['text', 'citext'],
    ts: ['timestamp without time zone', 'date'],
    s: ['text', 'text'],
    v: ['character varying(10)', 'text'],
    c: ['character varying(10)', 'character varying(5)'],
  };
  const pairs = Object.entries(types).map(([name, [sourceType, targetType]]) => ({
    name,
    sourceType,
    targetType,
    conversion: 'same' as const,
  }));
  const table = tablePlan({ pairs, columns: Object.keys(types) });
  const equalityOf = (type: string): string => type.replace(/\(\d+\)$/, '');
  const key = (columns: string[], extra: Partial<UniqueKey> = {}): UniqueKey => ({
    name: `src_${columns.join('_')}`,
    primary: false,
    columns,
    notNull: true,
    nullsNotDistinct: false,
    deferrable: false,
    equality: columns.map((c) => equalityOf(types[c]?.[0] ?? 'text')),
    ...extra,
  });
  const source = (...keys: UniqueKey[]) =>
    ({
      columns: Object.entries(types).map(([name, [type]]) => ({
        name,
        type,
        userDefined: false,
        typtype: 'b',
        category: 'N',
      })),
      keys,
    }) as unknown as TableInfo;
  const unique = (
    columns: (string | null)[],
    extra: { nullsNotDistinct?: boolean; deterministic?: boolean; equality?: string | null } = {},
  ): ConflictIndex => ({
    kind: 'unique',
    name: 'target_key',
    nullsNotDistinct: extra.nullsNotDistinct ?? false,
    keyColumns: columns.map((column) => ({
      column,
      deterministic: extra.deterministic ?? true,
      equality:
        extra.equality === undefined
          ? equalityOf(types[column ?? 'id']?.[1] ?? 'text')
          : extra.equality,
    })),
  });

  it('allows unique keys the source has too, on columns whose values cannot collide', () => {
    expect(partsMayWait(table, [unique(['id'])], source(key(['id'])))).toBeUndefined();
    expect(partsMayWait(table, [], source())).toBeUndefined();
    // Integers widen, text stays text: distinct values stay distinct.
    expect(partsMayWait(table, [unique(['k'])], source(key(['k'])))).toBeUndefined();
    expect(partsMayWait(table, [unique(['v'])], source(key(['v'])))).toBeUndefined();
    // A superset of a source key, expressions included, is unique too.
    expect(partsMayWait(table, [unique(['id', null, 's'])], source(key(['id'])))).toBeUndefined();
    // NULLS NOT DISTINCT on the target: fine when the source's key has no NULLs or is NND too.
    const nnd = unique(['s'], { nullsNotDistinct: true });
    expect(partsMayWait(table, [nnd], source(key(['s'])))).toBeUndefined();
    const nullable = { notNull: false, nullsNotDistinct: true };
    expect(partsMayWait(table, [nnd], source(key(['s'], nullable)))).toBeUndefined();
  });

  it('matches target key columns to source keys through renames', () => {
    const renamed = tablePlan({ ...table, renamed: [{ source: 'b', target: 's' }] });
    const b = key(['b'], { equality: ['text'] });
    const withB = {
      ...source(b),
      columns: [
        ...source().columns,
        { name: 'b', userDefined: false, typtype: 'b', category: 'S' },
      ],
    } as unknown as TableInfo;
    expect(partsMayWait(renamed, [unique(['s'])], withB)).toBeUndefined();
    // The source's "s" is unique, but the target's "s" holds "b", which is not.
    expect(partsMayWait(renamed, [unique(['s'])], { ...withB, keys: [key(['s'])] })).toMatch(
      /^the target's index target_key is not a unique key of the source \(source columns "b"\)/,
    );
  });

  it('refuses NULLS NOT DISTINCT targets over source keys that allow several NULLs', () => {
    const nnd = unique(['s'], { nullsNotDistinct: true });
    expect(partsMayWait(table, [nnd], source(key(['s'], { notNull: false })))).toBe(
      "the target's index target_key is NULLS NOT DISTINCT, and the source's key src_s allows several NULLs: rows of two parts could wait on each other",
    );
  });

  it('refuses target keys compared by a non-deterministic collation or a non-default operator class', () => {
    expect(
      partsMayWait(table, [unique(['s'], { deterministic: false })], source(key(['s']))),
    ).toContain('column "s", compared by a non-deterministic collation');
    expect(partsMayWait(table, [unique(['s'], { equality: null })], source(key(['s'])))).toContain(
      'non-default operator class',
    );
    const sourceImage = key(['s'], { equality: [null] });
    expect(partsMayWait(table, [unique(['s'])], source(sourceImage))).toContain('not a unique key');
    // Same type name, another equality: a domain over text on one side, over citext on the other.
    const domain = key(['s'], { equality: ['citext'] });
    expect(partsMayWait(table, [unique(['s'])], source(domain))).toContain('not a unique key');
  });

  it('refuses conversions that can make distinct source values equal', () => {
    for (const [column, from, to] of [
      ['f', 'double precision', 'real'],
      ['n', 'numeric', 'integer'],
      ['t', 'text', 'citext'],
      ['ts', 'timestamp without time zone', 'date'],
      ['c', 'character varying(10)', 'character varying(5)'],
    ] as const) {
      expect(partsMayWait(table, [unique([column])], source(key([column])))).toContain(
        `column "${column}", converted from ${from} to ${to} (distinct values can become equal)`,
      );
    }
  });

  it('refuses target-only keys, expressions, exclusion constraints, self-references and triggers', () => {
    expect(partsMayWait(table, [unique(['id'])], source())).toContain('target_key');
    expect(partsMayWait(table, [unique(['gone'])], source(key(['gone'])))).toContain(
      'column "gone", which is not written from the source',
    );
    expect(partsMayWait(table, [unique([null])], source(key(['id'])))).toContain('an expression');
    const exclusion: ConflictIndex = { kind: 'exclusion', name: 'no_overlap' };
    expect(partsMayWait(table, [exclusion], source())).toContain('exclusion constraint no_overlap');
    const parent: ConflictIndex = { kind: 'self-reference', name: 'parent_fk' };
    expect(partsMayWait(table, [parent], source())).toContain('references its own table');
    expect(partsMayWait({ ...table, disableTriggers: true }, [parent], source())).toBeUndefined();
    const triggered = tablePlan({ ...table, triggers: [{ name: 't' } as never] });
    expect(partsMayWait(triggered, [], source())).toContain('triggers');
  });
});
