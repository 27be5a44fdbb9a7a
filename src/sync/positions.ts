import type pg from 'pg';
import { quoteIdent } from '../db/quote.js';
import { ledgerName, SOURCE_LSN_COLUMN } from '../ledger/ledger-sql.js';
import type { TablePlan } from '../plan/types.js';
import { sqlstateOf } from '../errors.js';
import { parseLsn } from './lsn.js';
import {
  createSyncStateSql,
  movePositionsSql,
  positionKey,
  readPositions,
  seedSql,
} from './sync-state.js';
import type { Lsn } from './types.js';

/** Objects another session created at the same moment (two syncs' first use at once). */
const RACED = new Set(['23505', '42P06', '42P07']);

/** The target's sync_state table, made when missing (durable before any position is written). */
export async function ensureSyncState(client: pg.ClientBase, schema: string): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      const { rows } = await client.query<{ found: boolean }>(
        'SELECT to_regnamespace($1) IS NOT NULL AS found',
        [quoteIdent(schema)],
      );
      await client.query(
        `BEGIN; SET LOCAL synchronous_commit = on; ${createSyncStateSql(schema, rows[0]?.found !== true)}; COMMIT`,
      );
      return;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      if (attempt >= 2 || !RACED.has(sqlstateOf(error) ?? '')) throw error;
    }
  }
}

/**
 * Seeds the position of each pair that has none from its newest ledger row with a source_lsn no
 * older than `from` (the slot's confirmed position: a copy older than that missed changes the
 * slot no longer holds). Returns the pairs that got one.
 */
export async function seedFromLedger(
  client: pg.ClientBase,
  schema: string,
  slot: string,
  pairs: readonly TablePlan[],
  from: Lsn,
): Promise<number> {
  const positions = await readPositions(client, schema, slot);
  const unseeded = pairs.filter((p) => !positions.has(positionKey(p.targetSchema, p.targetTable)));
  if (unseeded.length === 0) return 0;
  const { rows: has } = await client.query(
    `SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = $2 AND NOT attisdropped`,
    [ledgerName(schema), SOURCE_LSN_COLUMN],
  );
  if (has.length === 0) return 0;
  const { rows } = await client.query<{ target_schema: string; target_table: string; lsn: string }>(
    `SELECT DISTINCT ON (target_schema, target_table) target_schema, target_table,
            ${quoteIdent(SOURCE_LSN_COLUMN)}::text AS lsn
       FROM ${ledgerName(schema)}
      WHERE ${quoteIdent(SOURCE_LSN_COLUMN)} IS NOT NULL
        AND (source_schema, source_table, target_schema, target_table) IN
            (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]))
      ORDER BY target_schema, target_table, committed_at DESC`,
    [
      unseeded.map((p) => p.sourceSchema),
      unseeded.map((p) => p.sourceTable),
      unseeded.map((p) => p.targetSchema),
      unseeded.map((p) => p.targetTable),
    ],
  );
  const seeds = rows
    .map((r) => ({
      table: { schema: r.target_schema, table: r.target_table },
      lsn: parseLsn(r.lsn),
    }))
    .filter((s) => s.lsn >= from);
  if (seeds.length === 0) return 0;
  await client.query(
    ['BEGIN', ...seeds.map((s) => seedSql(schema, slot, s.table, s.lsn)), 'COMMIT'].join('; '),
  );
  return seeds.length;
}

/**
 * After a catch-up read everything up to `lsn` and every target committed it, the target's tables
 * have all their changes up to there, touched or not: their positions move to it (never back).
 */
export async function movePositions(
  client: pg.ClientBase,
  schema: string,
  slot: string,
  pairs: readonly TablePlan[],
  lsn: Lsn,
): Promise<void> {
  const sql = movePositionsSql(
    schema,
    slot,
    pairs.map((p) => ({ schema: p.targetSchema, table: p.targetTable })),
    lsn,
  );
  if (sql !== undefined) await client.query(sql);
}

/** The lowest position of these pairs on a target (undefined: none has one). */
export function lowestPosition(
  positions: ReadonlyMap<string, Lsn>,
  pairs: readonly TablePlan[],
): Lsn | undefined {
  let lowest: Lsn | undefined;
  for (const p of pairs) {
    const at = positions.get(positionKey(p.targetSchema, p.targetTable));
    if (at !== undefined && (lowest === undefined || at < lowest)) lowest = at;
  }
  return lowest;
}
