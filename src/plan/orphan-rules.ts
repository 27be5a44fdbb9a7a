import type { TableRef } from '../db/catalog.js';
import type { TablePlan } from './types.js';

const names = (tables: readonly string[]): string => tables.map((t) => `"${t}"`).join(', ');

/** Why a table loaded with foreign-key checks off is not loaded after its parent was not copied. */
export function orphanReason(parent: string): string {
  return `not loaded: its parent table "${parent}" was not copied, and disableTriggers (foreign-key checks off) would leave orphan rows`;
}

/** Why a table is not loaded when the plan refuses a parent of it (foreign-key checks on). */
export function refusedParentReason(parent: string): string {
  return `not loaded: its parent table "${parent}" is refused in this plan, so its rows would point at parent rows this run does not copy (they would fail its foreign key, or match other rows the target holds); copy "${parent}" too, or leave this table out`;
}

/**
 * A table whose parent (a planned table of the same target its foreign keys reference) the plan
 * refuses is refused too, with its own children after it: the rows it would load point at parent
 * rows the run was asked to copy and will not. With checks on they fail at the first orphan (after
 * the rest of the run has committed); with disableTriggers they would load as orphans. Runs before
 * the truncate groups form, so that no group counts on a table that will not load.
 */
export function withRefusedParents(
  tables: readonly TablePlan[],
  referencesOf: (table: TablePlan) => readonly TableRef[],
): TablePlan[] {
  const byName = new Map(tables.map((t) => [t.targetTable, t]));
  let changed = true;
  while (changed) {
    changed = false;
    for (const t of byName.values()) {
      if (t.errors.length > 0) continue;
      const refused = referencesOf(t).find(
        (r) =>
          r.schema === t.targetSchema &&
          r.table !== t.targetTable &&
          (byName.get(r.table)?.errors.length ?? 0) > 0,
      );
      if (refused === undefined) continue;
      const reason = t.disableTriggers
        ? orphanReason(refused.table)
        : refusedParentReason(refused.table);
      byName.set(t.targetTable, { ...t, errors: [reason] });
      changed = true;
    }
  }
  return tables.map((t) => byName.get(t.targetTable) ?? t);
}

/**
 * disableTriggers loads as a replica, with foreign-key checks off: a child loaded while a parent
 * of the same run is not copied would keep rows that point at nothing, and its constraint would
 * still count as validated. withRefusedParents, run to a fixed point before this, has refused the
 * children of what the plan refuses (checks on or off); here a child whose parent may still fail
 * in the run is told, in a note, that the run skips it then. Without disableTriggers a parent
 * failing in the run leaves the child to its own checks.
 */
export function withOrphanRules(tables: readonly TablePlan[]): TablePlan[] {
  return tables.map((t) => {
    // A parent in its load group loads in the same transaction: they load together or not.
    const parents = (t.loadsAfter ?? []).filter((p) => !t.loadGroup?.includes(p));
    if (!t.disableTriggers || t.errors.length > 0 || parents.length === 0) return t;
    return {
      ...t,
      notes: [
        ...(t.notes ?? []),
        `disableTriggers: not loaded if ${parents.length > 1 ? 'any of ' : ''}${names(parents)} is not copied in this run (foreign-key checks are off, its rows would be orphans)`,
      ],
    };
  });
}

/** disableTriggers: the first parent this table loads after that the run did not load, if any. */
export function unloadedParent(
  table: TablePlan,
  failed: (parent: string) => boolean,
): string | undefined {
  if (!table.disableTriggers) return undefined;
  return table.loadsAfter?.find(failed);
}
