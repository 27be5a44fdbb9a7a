import type pg from 'pg';
import { CopyError } from '../errors.js';
import { pairName, type TablePlan } from '../plan/types.js';
import { STAGING_TABLE, createStagingSql, targetName, truncateSql, upsertSql } from './sql.js';

/**
 * Readies the target side of a load in the table's transaction: user triggers off when asked
 * (this transaction only; the plan checked that the role may), the old rows gone in truncate mode,
 * a staging table in upsert mode. Returns the table to write the rows into.
 */
export async function openDestination(target: pg.ClientBase, plan: TablePlan): Promise<string> {
  if (plan.disableTriggers) await target.query(`SET LOCAL session_replication_role = replica`);
  if (plan.mode === 'truncate') await target.query(truncateSql(plan));
  if (plan.mode !== 'upsert') return targetName(plan);
  await target.query(createStagingSql(plan));
  return STAGING_TABLE;
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
