import type { TableRef } from '../db/catalog.js';
import { strongComponents } from './strong-components.js';
import type { TablePlan } from './types.js';

/**
 * Within one target, a table whose foreign keys reference another table of the same run is loaded
 * after it: each table commits on its own, so a child loaded first (or alongside) would fail its
 * foreign-key checks. Tables of a reference cycle get no order among themselves, and a warning
 * saying so (the plan then loads the cycle as one group, or refuses it: see withCycleGroups); they
 * still load after the tables outside the cycle they reference, and tables beyond it after them.
 */
export function withLoadOrder(
  tables: readonly TablePlan[],
  referencesOf: (table: TablePlan) => readonly TableRef[],
): TablePlan[] {
  const names = new Set(tables.map((t) => t.targetTable));
  const after = new Map(
    tables.map((t) => {
      const parents = referencesOf(t)
        .filter(
          (r) => r.schema === t.targetSchema && r.table !== t.targetTable && names.has(r.table),
        )
        .map((r) => r.table);
      return [t.targetTable, [...new Set(parents)]] as const;
    }),
  );
  const cycleOf = new Map(
    strongComponents([...after.keys()], (name) => after.get(name) ?? [])
      .filter((c) => c.length > 1)
      .flatMap((c) => c.map((name) => [name, c] as const)),
  );
  return tables.map((t) => {
    const all = after.get(t.targetTable) ?? [];
    const cycle = cycleOf.get(t.targetTable);
    // The tables of its cycle cannot come first: those outside it still do.
    const parents = cycle ? all.filter((p) => !cycle.includes(p)) : all;
    const ordered = parents.length > 0 ? { ...t, loadsAfter: parents } : t;
    if (!cycle) return ordered;
    const through = all.filter((p) => cycle.includes(p));
    return {
      ...ordered,
      warnings: [
        ...t.warnings,
        `foreign keys form a cycle through ${through.map((p) => `"${p}"`).join(', ')}: loaded without ordering${
          t.disableTriggers
            ? ", and with disableTriggers (checks off) a failure of one leaves the others' rows without their parent"
            : ''
        }`,
      ],
    };
  });
}
