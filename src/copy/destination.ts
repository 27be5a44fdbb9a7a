import type pg from 'pg';
import { asUserCode } from '../db/search-path.js';
import { CopyError } from '../errors.js';
import { isKeyedMode, pairName, type TablePlan } from '../plan/types.js';
import type { RowChanges } from '../report/events.js';
import { STAGING_TABLE, createStagingSql, targetName, truncateSql, writeStagedSql } from './sql.js';

/** The statements that ready a target for a load, and the table the rows go into. */
export interface DestinationSetup {
  /**
   * Run in the table's transaction on one target session; none of them returns anything pgcopy
   * reads. The TRUNCATE fires the target's TRUNCATE triggers: it runs under the session's
   * configured search_path (see withUserSearchPath).
   */
  statements(target: pg.ClientBase): readonly string[];
  readonly table: string;
}

/**
 * Readies the target side of a load in the table's transaction: user triggers off when asked
 * (this transaction only; the plan checked that the role may), the old rows gone in truncate mode,
 * a staging table in upsert and insert-new modes. copy-pair sends these with the BEGIN, in one
 * round trip.
 */
export function destinationSetup(plan: TablePlan): DestinationSetup {
  const statements = (target: pg.ClientBase): string[] => [
    ...(plan.disableTriggers ? [`SET LOCAL session_replication_role = replica`] : []),
    ...(plan.mode === 'truncate'
      ? asUserCode(target, plan.runsUserCode === true, [truncateSql(plan)])
      : []),
    ...(isKeyedMode(plan.mode) ? [createStagingSql(plan)] : []),
  ];
  return { statements, table: isKeyedMode(plan.mode) ? STAGING_TABLE : targetName(plan) };
}

/** What the load wrote into the target: all its rows, or (upsert, insert-new) what ON CONFLICT did. */
export interface Written {
  readonly written: number;
  readonly changes?: RowChanges;
}

/** upsert and insert-new: moves the staged rows into the target and counts what happened to them. */
export async function closeDestination(
  target: pg.ClientBase,
  plan: TablePlan,
  rows: number,
): Promise<Written> {
  if (!isKeyedMode(plan.mode)) return { written: rows };
  const key = plan.conflictKey;
  if (!key) throw new CopyError(pairName(plan), `${plan.mode} without a conflict key`);
  const result = await target.query<{ inserted: string; updated: string }>(
    writeStagedSql(plan, key),
  );
  const inserted = Number(result.rows[0]?.inserted ?? 0);
  const updated = Number(result.rows[0]?.updated ?? 0);
  return {
    written: inserted + updated,
    changes: { inserted, updated, unchanged: rows - inserted - updated },
  };
}
