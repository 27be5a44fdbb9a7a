import type { ReadOncePlan } from '../../plan/read-once.js';
import { sharedReadColumns, type ReadColumn } from '../../plan/read-columns.js';
import type { TablePlan } from '../../plan/types.js';

/**
 * What one worker runs at once: one pair, the pairs of one shared read (and its columns), or the
 * tables of one load group (a truncate group or a foreign-key cycle) (in their load order).
 */
export interface ReadUnit {
  readonly tables: readonly TablePlan[];
  /** A shared read: the source columns it reads (absent for one pair, which reads its own). */
  readonly columns?: readonly ReadColumn[];
  /** A load group: its tables loaded together, in one transaction (never a shared read). */
  readonly loadGroup?: true;
}

/**
 * The pairs to copy as units for the pool, in the pairs' order (a unit where its first pair is).
 * A shared read of the plan becomes a unit of those of its pairs still to copy (a resumed or
 * failed pair drops out), when two or more are; a load group's tables are one unit; the rest
 * copy one by one.
 */
export function readUnits(
  copyable: readonly TablePlan[],
  readOnce: ReadOncePlan | undefined,
): ReadUnit[] {
  const unitOf = new Map<TablePlan, ReadUnit>();
  for (const t of copyable) {
    const names = t.loadGroup;
    if (!names || unitOf.has(t)) continue;
    const member = (name: string) =>
      copyable.find((m) => m.targetName === t.targetName && m.targetTable === name) ?? [];
    const unit: ReadUnit = { tables: names.flatMap(member), loadGroup: true };
    for (const m of unit.tables) unitOf.set(m, unit);
  }
  for (const shared of readOnce?.shared ?? []) {
    const tables = shared.pairs.flatMap(
      (p) =>
        copyable.find(
          (t) =>
            t.targetName === p.target &&
            t.targetTable === p.table &&
            t.sourceTable === shared.source,
        ) ?? [],
    );
    if (tables.length < 2) continue;
    const unit = { tables, columns: sharedReadColumns(tables) };
    for (const t of tables) unitOf.set(t, unit);
  }
  const units = new Set<ReadUnit>();
  for (const t of copyable) units.add(unitOf.get(t) ?? { tables: [t] });
  return [...units];
}

/** The units a unit waits for: those holding a table one of its tables loads after. */
export function unitBlockers(
  units: readonly ReadUnit[],
  parentsOf: (table: TablePlan) => readonly TablePlan[],
): (unit: ReadUnit) => ReadUnit[] {
  const unitOf = new Map(units.flatMap((u) => u.tables.map((t) => [t, u] as const)));
  // Every parent is a table to copy (parentsOf looks among them only): it has a unit.
  return (unit) => [
    ...new Set(
      unit.tables
        .flatMap((t) => parentsOf(t).map((p) => unitOf.get(p) as ReadUnit))
        .filter((parent) => parent !== unit),
    ),
  ];
}
