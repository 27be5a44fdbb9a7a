import type { PreparedLocks } from '../db/prepared-locks.js';
import {
  loadLockOf,
  preparedPlans,
  preparedTableMessages,
  type PreparedPlan,
} from './prepared-waits.js';
import type { TablePlan } from './types.js';

/**
 * The prepared transactions locking a target's planned tables, with what each table's load takes,
 * and the tables with a warning (someone else's that the load waits for) or a note (pgcopy's own,
 * or rows only). A table refused already is left as it is.
 */
export function withPreparedLocks(
  tables: readonly TablePlan[],
  found: readonly PreparedLocks[],
  lockTimeoutMs: number | undefined,
): { tables: TablePlan[]; prepared: PreparedPlan[] } {
  if (found.length === 0) return { tables: [...tables], prepared: [] };
  const byTarget = new Map(tables.map((t) => [t.targetTable, t]));
  const prepared = preparedPlans(found, (name) => {
    const t = byTarget.get(name);
    return loadLockOf(t?.mode ?? 'append', (t?.rebuildIndexes?.indexes.length ?? 0) > 0);
  });
  return {
    prepared,
    tables: tables.map((t) => {
      if (t.errors.length > 0) return t;
      const { warnings, notes } = preparedTableMessages(
        t.targetTable,
        t.mode,
        prepared,
        lockTimeoutMs,
      );
      if (warnings.length + notes.length === 0) return t;
      return {
        ...t,
        warnings: [...t.warnings, ...warnings],
        ...(notes.length > 0 || t.notes ? { notes: [...(t.notes ?? []), ...notes] } : {}),
      };
    }),
  };
}
