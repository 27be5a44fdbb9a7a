import type { TableRef } from '../db/catalog.js';
import type { TablePlan } from './types.js';

/**
 * Within one target, a table whose foreign keys reference another table of the same run is loaded
 * after it: each table commits on its own, so a child loaded first (or alongside) would fail its
 * foreign-key checks. Tables caught in a reference cycle get no order, and a warning saying so.
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
  const cyclic = tablesInCycles(after);
  return tables.map((t) => {
    const parents = after.get(t.targetTable) ?? [];
    if (parents.length === 0) return t;
    if (cyclic.has(t.targetTable)) {
      return {
        ...t,
        warnings: [
          ...t.warnings,
          `foreign keys form a cycle through ${parents.map((p) => `"${p}"`).join(', ')}: loaded without ordering${
            t.disableTriggers
              ? ", and with disableTriggers (checks off) a failure of one leaves the others' rows without their parent"
              : ''
          }`,
        ],
      };
    }
    return { ...t, loadsAfter: parents };
  });
}

/** Kahn's algorithm: whatever cannot be ordered is on, or behind, a cycle. */
function tablesInCycles(after: ReadonlyMap<string, readonly string[]>): Set<string> {
  const remaining = new Map([...after].map(([name, parents]) => [name, new Set(parents)]));
  let progress = true;
  while (progress) {
    progress = false;
    for (const [name, parents] of remaining) {
      if ([...parents].every((p) => !remaining.has(p))) {
        remaining.delete(name);
        progress = true;
      }
    }
  }
  return new Set(remaining.keys());
}
