import type pg from 'pg';
import { qualifiedName, quoteIdent, quoteLiteral } from '../db/quote.js';
import { formatLsn, parseLsn } from './lsn.js';
import type { Lsn } from './types.js';

/**
 * The positions of `pgcopy sync` on each target, in the ledger's schema: one row per slot and target
 * table, the end of the last source transaction whose changes to that table are in. A row moves only
 * in the target transaction that applies the changes, so what it says is what the table holds.
 */
export const SYNC_STATE_TABLE = 'sync_state';

export function syncStateName(schema: string): string {
  return qualifiedName(schema, SYNC_STATE_TABLE);
}

/** The schema and table, made when missing (like the ledger's). */
export function createSyncStateSql(schema: string, withSchema: boolean): string {
  return [
    ...(withSchema ? [`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`] : []),
    `CREATE TABLE IF NOT EXISTS ${syncStateName(schema)} (` +
      'slot text NOT NULL, target_schema text NOT NULL, target_table text NOT NULL, ' +
      'applied_lsn pg_lsn NOT NULL, updated_at timestamptz NOT NULL DEFAULT clock_timestamp(), ' +
      'PRIMARY KEY (slot, target_schema, target_table))',
  ].join('; ');
}

/** A target table, as the position map keys it: unambiguous whatever the names hold. */
export function positionKey(schema: string, table: string): string {
  return qualifiedName(schema, table);
}

export interface TargetTableName {
  readonly schema: string;
  readonly table: string;
}

/** The positions of one slot on a target (rows: target_schema, target_table, applied_lsn as text). */
export function readPositionsSql(schema: string, slot: string): string {
  return (
    `SELECT target_schema, target_table, applied_lsn::text AS applied_lsn FROM ${syncStateName(schema)} ` +
    `WHERE slot = ${quoteLiteral(slot)}`
  );
}

/** The positions of one slot on a target, keyed by positionKey. Empty when the table is missing. */
export async function readPositions(
  client: pg.ClientBase,
  schema: string,
  slot: string,
): Promise<Map<string, Lsn>> {
  const exists = await client.query<{ found: boolean }>(
    'SELECT to_regclass($1) IS NOT NULL AS found',
    [syncStateName(schema)],
  );
  const positions = new Map<string, Lsn>();
  if (exists.rows[0]?.found !== true) return positions;
  const result = await client.query<{
    target_schema: string;
    target_table: string;
    applied_lsn: string;
  }>(readPositionsSql(schema, slot));
  for (const row of result.rows) {
    positions.set(positionKey(row.target_schema, row.target_table), parseLsn(row.applied_lsn));
  }
  return positions;
}

function tableList(tables: readonly TargetTableName[]): string {
  return tables.map((t) => `(${quoteLiteral(t.schema)}, ${quoteLiteral(t.table)})`).join(', ');
}

/**
 * Moves the positions of these tables forward to `lsn` (never back: a table copied later, in a newer
 * snapshot, keeps its later position). Sent inside the transaction that applied the changes, with
 * its COMMIT. Undefined when there is no table to move.
 */
export function movePositionsSql(
  schema: string,
  slot: string,
  tables: readonly TargetTableName[],
  lsn: Lsn,
): string | undefined {
  if (tables.length === 0) return undefined;
  const to = `${quoteLiteral(formatLsn(lsn))}::pg_lsn`;
  return (
    `UPDATE ${syncStateName(schema)} SET applied_lsn = ${to}, updated_at = clock_timestamp() ` +
    `WHERE slot = ${quoteLiteral(slot)} AND applied_lsn < ${to} ` +
    `AND (target_schema, target_table) IN (${tableList(tables)})`
  );
}

/**
 * A table's first position: the slot position its copy corresponds to (written after the first
 * copy, from the ledger). An existing position is kept, unless `replace` (the table was copied
 * again, in a newer snapshot).
 */
export function seedSql(
  schema: string,
  slot: string,
  table: TargetTableName,
  lsn: Lsn,
  options: { replace?: boolean } = {},
): string {
  const to = `${quoteLiteral(formatLsn(lsn))}::pg_lsn`;
  return (
    `INSERT INTO ${syncStateName(schema)} (slot, target_schema, target_table, applied_lsn) ` +
    `VALUES (${quoteLiteral(slot)}, ${quoteLiteral(table.schema)}, ${quoteLiteral(table.table)}, ${to}) ` +
    `ON CONFLICT (slot, target_schema, target_table) DO ` +
    (options.replace === true
      ? 'UPDATE SET applied_lsn = excluded.applied_lsn, updated_at = clock_timestamp()'
      : 'NOTHING')
  );
}

/** Forgets every position of a slot (the slot was dropped). */
export function forgetSlotSql(schema: string, slot: string): string {
  return `DELETE FROM ${syncStateName(schema)} WHERE slot = ${quoteLiteral(slot)}`;
}
