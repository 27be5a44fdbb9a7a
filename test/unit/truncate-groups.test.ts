import { describe, expect, it } from 'vitest';
import type { TableRef } from '../../src/db/catalog.js';
import { withLoadOrder } from '../../src/plan/load-order.js';
import { withOrphanRules, withRefusedParents } from '../../src/plan/orphan-rules.js';
import { withTruncateGroups } from '../../src/plan/truncate-groups.js';
import type { TablePlan } from '../../src/plan/types.js';
import { tablePlan } from '../support/table-plan.js';

/** Tables of one target: name -> the tables its foreign keys reference (deferrable when marked). */
type Links = Record<string, readonly (string | { table: string; deferrable: true })[]>;

function planOf(links: Links, overrides: Record<string, Partial<TablePlan>> = {}) {
  const ref = (r: Links[string][number]): TableRef =>
    typeof r === 'string'
      ? { schema: 'public', table: r }
      : { schema: 'public', table: r.table, deferrable: true };
  const references = (name: string): TableRef[] => (links[name] ?? []).map(ref);
  const referencedBy = (name: string): TableRef[] =>
    Object.entries(links).flatMap(([child, parents]) =>
      parents
        .map(ref)
        .filter((p) => p.table === name)
        .map((p) => ({
          schema: 'public',
          table: child,
          ...(p.deferrable ? { deferrable: true as const } : {}),
        })),
    );
  const tables = withLoadOrder(
    Object.keys(links).map((name) =>
      tablePlan({
        targetName: 'db',
        targetSchema: 'public',
        sourceTable: name,
        targetTable: name,
        mode: 'truncate',
        ...overrides[name],
      }),
    ),
    (t) => references(t.targetTable),
  );
  const grouped = withTruncateGroups(tables, (t) => referencedBy(t.targetTable));
  const byName = (name: string) => grouped.tables.find((t) => t.targetTable === name) as TablePlan;
  return {
    ...grouped,
    byName,
    // As the plan composes them: refusals spread first, then the notes.
    orphans: () =>
      withOrphanRules(withRefusedParents(grouped.tables, (t) => references(t.targetTable))),
  };
}

describe('truncate groups (plan rules)', () => {
  it('groups the connected truncate-mode tables, parents first; lone tables stay alone', () => {
    const { groups, byName } = planOf({
      line: ['orders', 'product'],
      orders: ['customer'],
      customer: [],
      product: [],
      alone: [],
      tree: ['tree'],
    });
    expect(groups).toEqual([{ tables: ['customer', 'orders', 'product', 'line'] }]);
    expect(byName('alone').loadGroup).toBeUndefined();
    expect(byName('tree').loadGroup).toBeUndefined();
    expect(byName('line').loadGroup).toEqual(['customer', 'orders', 'product', 'line']);
  });

  it('a refusal spreads up the foreign keys: the parents of a refused member are refused too', () => {
    const { groups, byName } = planOf(
      { line: ['orders'], orders: ['customer'], customer: [] },
      { line: { errors: ['no shared column'] } },
    );
    expect(groups).toEqual([]);
    expect(byName('orders').errors[0]).toMatch(
      /"public"."line" references this table by foreign key and is not copied/,
    );
    expect(byName('customer').errors[0]).toMatch(
      /"public"."orders" references this table by foreign key and is not copied/,
    );
  });

  it('a cycle loads only when deferrable or with disableTriggers on its own tables; its children follow it', () => {
    const cycle: Links = { a: ['b'], b: ['a'], child: ['a'] };
    expect(planOf(cycle).byName('child').errors[0]).toMatch(/form a cycle/);
    const off = planOf(cycle, { a: { disableTriggers: true }, b: { disableTriggers: true } });
    expect(off.groups).toEqual([{ tables: ['a', 'b', 'child'] }]);
    expect(off.byName('a').warnings).toContain(
      'disableTriggers: other tables of its truncate group load with triggers on, so the one TRUNCATE of the group runs with them on and fires its ON TRUNCATE triggers',
    );
    const deferred = planOf({
      a: [{ table: 'b', deferrable: true }],
      b: [{ table: 'a', deferrable: true }],
      child: ['a'],
    });
    expect(deferred.groups).toEqual([{ tables: ['a', 'b', 'child'], deferred: true }]);
    expect(deferred.byName('child').deferredChecks).toBe(true);
  });

  it('disableTriggers: a child of a refused parent is refused, a group member notes only parents outside its group', () => {
    const { orphans } = planOf(
      { parent: [], child: ['parent', 'outside'], outside: [] },
      {
        parent: { mode: 'append', errors: ['no shared column'] },
        outside: { mode: 'append' },
        child: { disableTriggers: true },
      },
    );
    const child = orphans().find((t) => t.targetTable === 'child');
    expect(child?.errors).toEqual([
      'not loaded: its parent table "parent" was not copied, and disableTriggers (foreign-key checks off) would leave orphan rows',
    ]);
    const grouped = planOf(
      { parent: [], child: ['parent', 'outside'], outside: [] },
      { outside: { mode: 'append' }, child: { disableTriggers: true } },
    );
    expect(grouped.orphans().find((t) => t.targetTable === 'child')?.notes).toContain(
      'disableTriggers: not loaded if "outside" is not copied in this run (foreign-key checks are off, its rows would be orphans)',
    );
  });
});
