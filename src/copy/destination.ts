import type pg from 'pg';
import { CopyError } from '../errors.js';
import { pairName, type TablePlan } from '../plan/types.js';
import { STAGING_TABLE, createStagingSql, targetName, truncateSql, upsertSql } from './sql.js';

/** The statements that ready a target for a load, and the table the rows go into. */
export interface DestinationSetup {
  /** Run in the table's transaction; none of them returns anything pgcopy reads. */
  readonly statements: readonly string[];
  readonly table: string;
}

/**
 * Readies the target side of a load in the table's transaction: user triggers off when asked
 * (this transaction only; the plan checked that the role may), the old rows gone in truncate mode,
 * a staging table in upsert mode. copy-pair sends these with the BEGIN, in one round trip.
 */
export function destinationSetup(plan: TablePlan): DestinationSetup {
  const statements: string[] = [];
  if (plan.disableTriggers) statements.push(`SET LOCAL session_replication_role = replica`);
  if (plan.mode === 'truncate') statements.push(truncateSql(plan));
  if (plan.mode !== 'upsert') return { statements, table: targetName(plan) };
  statements.push(createStagingSql(plan));
  return { statements, table: STAGING_TABLE };
}

/** Upsert: moves the staged rows into the target. Returns the rows written. */
export async function closeDestination(
  target: pg.ClientBase,
  plan: TablePlan,
  rows: number,
): Promise<number> {
  if (plan.mode !== 'upsert') return rows;
  const key = plan.conflictKey;
  if (!key) throw new CopyError(pairName(plan), 'upsert without a conflict key');
  return (await target.query(upsertSql(plan, key))).rowCount ?? 0;
}
