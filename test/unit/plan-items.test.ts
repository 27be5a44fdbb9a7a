import { describe, expect, it } from 'vitest';
import { pairsSelected, planItems } from '../../src/plan/plan-items.js';
import type { Plan, TablePlan } from '../../src/plan/types.js';
import { tablePlan } from '../support/table-plan.js';

const MB = 1024 ** 2;

function pair(target: string, table: string, mb: number, more: Partial<TablePlan> = {}): TablePlan {
  return tablePlan({
    targetName: target,
    sourceTable: table,
    targetTable: table,
    estimatedBytes: mb * MB,
    ...more,
  });
}

function planOf(tables: TablePlan[], shared: { source: string; targets: string[] }[] = []): Plan {
  const targets = [...new Set(tables.map((t) => t.targetName))];
  return {
    sourceSchema: 'public',
    targets: targets.map((name) => ({
      name,
      schema: 'public',
      tables: tables.filter((t) => t.targetName === name),
    })),
    readOnce: {
      enabled: true,
      shared: shared.map((s) => ({
        source: s.source,
        format: 'binary',
        columns: [],
        pairs: s.targets.map((target) => ({ target, table: s.source })),
      })),
      separate: [],
    },
  };
}

/** Every pair of the plan in exactly one item, each item selecting exactly its own. */
function checkCovers(plan: Plan, items: ReturnType<typeof planItems>): void {
  const seen = items.flatMap((item) => pairsSelected(plan, item));
  const all = plan.targets.flatMap((t) => t.tables);
  expect(seen.length).toBe(all.length);
  expect(new Set(seen)).toEqual(new Set(all));
  for (const item of items) expect(pairsSelected(plan, item).length).toBe(item.pairs);
}

describe('planItems: which pairs run together', () => {
  it('a load group (truncate group or foreign-key cycle) is one unit, whatever the budget', () => {
    const group = ['orders', 'order_lines'];
    const plan = planOf([
      pair('one', 'orders', 3, { loadGroup: group, mode: 'truncate' }),
      pair('one', 'order_lines', 3, { loadGroup: group, mode: 'truncate' }),
      pair('one', 'other', 3),
    ]);
    const items = planItems(plan, 4 * MB);
    checkCovers(plan, items);
    expect(items.map((i) => [...i.tables].sort())).toContainEqual(['order_lines', 'orders']);
  });

  it('a table stays with the parents it loads after (one invocation orders them)', () => {
    const plan = planOf([
      pair('one', 'parent', 3),
      pair('one', 'child', 3, { loadsAfter: ['parent'] }),
      pair('one', 'alone', 3),
    ]);
    const items = planItems(plan, 4 * MB);
    checkCovers(plan, items);
    expect(items.map((i) => [...i.tables].sort())).toContainEqual(['child', 'parent']);
  });

  it('a shared read is one unit across its targets; other targets are items of their own', () => {
    const plan = planOf(
      [pair('one', 'a', 1), pair('two', 'a', 1), pair('one', 'b', 1), pair('two', 'c', 1)],
      [{ source: 'a', targets: ['one', 'two'] }],
    );
    const items = planItems(plan, 100 * MB);
    checkCovers(plan, items);
    expect(items.find((i) => i.tables.includes('a'))?.targets).toEqual(['one', 'two']);
  });

  it('a refused pair is in an item too (its invocation says why it cannot be copied)', () => {
    const plan = planOf([pair('one', 'a', 1), pair('one', 'refused', 1, { errors: ['no table'] })]);
    checkCovers(plan, planItems(plan, 100 * MB));
  });

  it('a split table is one pair: an item of its own when over the budget', () => {
    const plan = planOf([
      pair('one', 'huge', 50, { split: { parts: 4, by: 'blocks' } }),
      pair('one', 'a', 1),
      pair('one', 'b', 1),
    ]);
    const items = planItems(plan, 10 * MB);
    checkCovers(plan, items);
    expect(items.find((i) => i.tables.includes('huge'))?.tables).toEqual(['huge']);
  });

  it('names a renamed table by its source name where its target name selects another pair', () => {
    // Target one takes source x into table y, and source y into table z: "y" selects both.
    const plan = planOf([
      pair('one', 'x', 1, { targetTable: 'y' }),
      pair('one', 'y', 1, { targetTable: 'z' }),
    ]);
    checkCovers(plan, planItems(plan, 1 * MB));
  });

  it('refuses names that would select another pair with them, and a budget that is no size', () => {
    // Source x into table y, source y into table x: either name selects both.
    const plan = planOf([
      pair('one', 'x', 1, { targetTable: 'y' }),
      pair('one', 'y', 1, { targetTable: 'x' }),
      pair('one', 'w', 1),
    ]);
    expect(() => planItems(plan, 100 * MB)).toThrow(
      /cannot be selected by target and table names alone/,
    );
    expect(() => planItems(planOf([pair('one', 'a', 1)]), 0)).toThrow(
      'budgetBytes: expected a positive number of bytes, got 0',
    );
  });
});
