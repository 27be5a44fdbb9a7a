import { describe, expect, it } from 'vitest';
import { blockRanges, partPlan } from '../../src/copy/split/ranges.js';
import {
  applySplitRules,
  limitSplit,
  splitSettingOf,
  type SplitFacts,
} from '../../src/plan/split-rules.js';
import type { TablePlan } from '../../src/plan/types.js';
import { planToJson, renderPlan } from '../../src/plan/render-plan.js';
import { partsMayWait } from '../../src/plan/split-conflicts.js';
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
    expect(applySplitRules(big, facts).split).toEqual({ parts: 2 });
    expect(applySplitRules(big, { ...facts, setting: { minBytes: GB, parts: 8 } }).split).toEqual({
      parts: 4,
    });
  });

  it('says why a table stays one stream', () => {
    expect(reason(tablePlan({ ...big, strategy: 'dblink' }))).toBe('strategy dblink is not stream');
    expect(reason(tablePlan({ ...big, mode: 'truncate' }))).toContain('truncate mode');
    expect(reason(tablePlan({ ...big, mode: 'upsert' }))).toContain('upsert');
    expect(reason(tablePlan({ ...big, sourceKind: 'p' }))).toContain('not a plain table');
    expect(reason(tablePlan({ ...big, estimatedBytes: 5_000_000 }))).toBe(
      '5.0 MB is under split.minBytes (1073.7 MB)',
    );
    expect(reason(big, { sourceVersion: 130011 })).toBe(
      'the source is PostgreSQL 13: block ranges need 14 or later',
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
    expect(fewer.split).toEqual({ parts: 3 });
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
    expect(json.targets[0]?.tables.map((t) => t.split)).toEqual([{ parts: 2 }, undefined]);
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

describe('parts that could wait on each other', () => {
  const pairs = ['id', 'k'].map((name) => ({
    name,
    sourceType: 'integer',
    targetType: name === 'k' ? 'bigint' : 'integer',
    conversion: 'same' as const,
  }));
  const table = tablePlan({ pairs, columns: ['id', 'k'] });
  const key = (columns: string[]) => ({
    name: 'k',
    primary: false,
    columns,
    notNull: true,
    nullsNotDistinct: false,
    deferrable: false,
  });

  it('allows unique keys the source has too, on columns of the same types', () => {
    expect(partsMayWait(table, [{ name: 'pk', columns: ['id'] }], [key(['id'])])).toBeUndefined();
    expect(partsMayWait(table, [], [])).toBeUndefined();
  });

  it('refuses target-only keys, keys whose types differ, opaque indexes and triggers', () => {
    const refused = (index: { name: string; columns: string[] | null }, source: string[][]) =>
      partsMayWait(table, [index], source.map(key));
    expect(refused({ name: 'only_target', columns: ['id'] }, [])).toContain('only_target');
    expect(refused({ name: 'retyped', columns: ['k'] }, [['k']])).toContain('retyped');
    expect(refused({ name: 'missing', columns: ['gone'] }, [['gone']])).toContain('missing');
    expect(refused({ name: 'expression', columns: null }, [])).toContain('expression');
    const parent = { name: 'parent_fk', columns: null, selfReference: true };
    expect(partsMayWait(table, [parent], [])).toContain('references its own table');
    expect(partsMayWait({ ...table, disableTriggers: true }, [parent], [])).toBeUndefined();
    const triggered = tablePlan({ ...table, triggers: [{ name: 't' } as never] });
    expect(partsMayWait(triggered, [], [])).toContain('triggers');
  });
});
