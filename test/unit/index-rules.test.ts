import { describe, expect, it } from 'vitest';
import { createIndexStatements } from '../../src/copy/index-rebuild.js';
import type { RebuildableIndex, TableIndexes } from '../../src/db/target-indexes.js';
import {
  applyIndexRules,
  needsIndexes,
  rebuildIndexesOf,
  type RebuildIndexesChoice,
} from '../../src/plan/index-rules.js';
import type { TablePlan } from '../../src/plan/types.js';
import { planToJson, renderPlan } from '../../src/plan/render-plan.js';
import { tablePlan } from '../support/table-plan.js';

const MB = 1024 ** 2;
const big = tablePlan({ mode: 'truncate', estimatedBytes: 300 * MB });
const byDefault = rebuildIndexesOf(undefined, undefined, undefined);
const given: RebuildIndexesChoice = { config: { minBytes: MB }, explicit: true };
const index: RebuildableIndex = {
  name: 'Big "A"',
  definition: 'CREATE INDEX "Big ""A""" ON "tgt""schema"."select" USING btree (a)',
  tablespace: null,
  clustered: false,
  statistics: [],
  comment: null,
};
const indexes: TableIndexes = {
  owned: true,
  creatable: true,
  rebuildable: [index],
  kept: ['select_pkey'],
};

const reason = (table: TablePlan, choice = given, found: TableIndexes | undefined = indexes) =>
  applyIndexRules(table, choice, found).rebuildIndexes?.reason;

describe('rebuildIndexes rules: which big tables have their indexes dropped and rebuilt', () => {
  it('takes the most specific level; the default is 256MB and not explicit; false turns it off', () => {
    expect(byDefault).toEqual({ config: { minBytes: 256 * MB }, explicit: false });
    expect(rebuildIndexesOf(undefined, { minBytes: 5 }, false)).toEqual({
      config: { minBytes: 5 },
      explicit: true,
    });
    expect(rebuildIndexesOf(false, { minBytes: 5 })).toBeUndefined();
  });

  it('rebuilds a big truncate table by default, and says what it keeps', () => {
    const planned = applyIndexRules(big, byDefault, indexes);
    expect(planned.rebuildIndexes).toEqual({ indexes: ['Big "A"'] });
    expect(planned.notes).toEqual([
      '314.6 MB: indexes Big "A" dropped for the load and created again before COMMIT (kept: select_pkey)',
    ]);
    expect(needsIndexes(big, byDefault)).toBe(true);
  });

  it('says nothing of a table under minBytes, with plan errors, or when the setting is false', () => {
    const small = tablePlan({ mode: 'truncate', estimatedBytes: 100 * MB });
    expect(applyIndexRules(small, byDefault, indexes)).toBe(small);
    const failed = tablePlan({ ...big, errors: ['x'] });
    expect(applyIndexRules(failed, given, indexes)).toBe(failed);
    expect(applyIndexRules(big, undefined, indexes)).toBe(big);
    expect(needsIndexes(small, byDefault)).toBe(false);
    expect(needsIndexes(big, undefined)).toBe(false);
  });

  it('says why a big table keeps its indexes', () => {
    expect(reason(tablePlan({ ...big, mode: 'append' }), byDefault)).toContain(
      'append mode rebuilds only when rebuildIndexes is set',
    );
    expect(reason(tablePlan({ ...big, mode: 'upsert' }))).toBe(
      "upsert's ON CONFLICT needs the key's index",
    );
    expect(reason(tablePlan({ ...big, mode: 'insert-new' }))).toBe(
      "insert-new's ON CONFLICT needs the key's index",
    );
    expect(reason(tablePlan({ ...big, strategy: 'fdw-push' }))).toBe(
      "fdw-push loads through the source's session",
    );
    expect(reason(tablePlan({ ...big, mode: 'append', split: { parts: 2 } }))).toContain(
      'the table is split into parts',
    );
    expect(reason(tablePlan({ ...big, mode: 'append', split: { parts: 1, reason: 'x' } }))).toBe(
      undefined,
    );
    expect(reason(tablePlan({ ...big, targetKind: 'p' }))).toContain('the target is partitioned');
    expect(reason(tablePlan({ ...big, targetKind: 'f' }))).toBe('the target is not a plain table');
    expect(reason(big, given, { ...indexes, owned: false })).toBe(
      'the role does not own the target table',
    );
    expect(reason(big, given, { ...indexes, creatable: false })).toBe(
      'the role may not create indexes in the target schema (no CREATE on it)',
    );
    expect(reason(big, given, { ...indexes, rebuildable: [], kept: ['a', 'b'] })).toBe(
      'no secondary index can be dropped and created again (kept: a, b)',
    );
    expect(applyIndexRules(big, given, undefined).notes).toEqual([
      '314.6 MB: indexes kept during the load: no secondary index can be dropped and created again',
    ]);
  });

  it('shows the decision in the plan, as text and JSON', () => {
    const rebuilt = applyIndexRules(big, byDefault, indexes);
    const plan = {
      sourceSchema: 's',
      targets: [{ name: 'one', schema: 't', tables: [rebuilt, big] }],
    };
    expect(renderPlan(plan)).toContain(
      'ℹ select: 314.6 MB: indexes Big "A" dropped for the load and created again before COMMIT',
    );
    const json = planToJson(plan) as { targets: { tables: Record<string, unknown>[] }[] };
    expect(json.targets[0]?.tables.map((t) => t.rebuildIndexes)).toEqual([
      { indexes: ['Big "A"'] },
      undefined,
    ]);
  });

  it('creates an index again with what pg_get_indexdef leaves out', () => {
    expect(createIndexStatements(big, index)).toEqual([
      `SELECT pg_catalog.set_config('default_tablespace', '', true)`,
      index.definition,
    ]);
    expect(
      createIndexStatements(big, {
        ...index,
        tablespace: "fast's",
        clustered: true,
        statistics: [{ column: 2, target: 0 }],
        comment: "it's",
      }),
    ).toEqual([
      `SELECT pg_catalog.set_config('default_tablespace', 'fast''s', true)`,
      index.definition,
      `ALTER TABLE "tgt""schema"."select" CLUSTER ON "Big ""A"""`,
      `ALTER INDEX "tgt""schema"."Big ""A""" ALTER COLUMN 2 SET STATISTICS 0`,
      `COMMENT ON INDEX "tgt""schema"."Big ""A""" IS 'it''s'`,
    ]);
  });
});
