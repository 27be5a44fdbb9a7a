import type pg from 'pg';
import { describeError, sqlstateOf } from '../errors.js';
import { quoteIdent } from '../db/quote.js';
import {
  SOURCE_LSN_COLUMN,
  addSourceLsnSql,
  createLedgerSql,
  ledgerName,
  recordSql,
  type LedgerEntry,
} from './ledger-sql.js';

/** A pair this run id committed on a target, as the target's ledger recorded it. */
export interface Committed {
  readonly targetSchema: string;
  readonly targetTable: string;
  readonly planHash: string;
  readonly rows: number;
  readonly committedAt: string;
  readonly preparedParts: readonly string[];
}

/** The ledger of one target, as a run found it: usable (and what this run id committed), or not. */
export type TargetLedger =
  | {
      readonly available: true;
      readonly schema: string;
      readonly committed: readonly Committed[];
      /** Rows older than the retention, removed at the start of the run. */
      readonly pruned: number;
    }
  | { readonly available: false; readonly schema: string; readonly reason: string };

/** Objects another session created at the same moment (two runs' first use at once). */
const RACED = new Set(['23505', '42P06', '42P07']);

/** Whether the ledger's table exists and the role may read, write and prune it. */
async function usable(client: pg.ClientBase, schema: string): Promise<boolean> {
  const name = ledgerName(schema);
  const { rows } = await client.query<{ ok: boolean | null }>(
    `SELECT CASE WHEN to_regclass($1) IS NULL THEN false
            ELSE has_table_privilege($1, 'SELECT') AND has_table_privilege($1, 'INSERT') END AS ok`,
    [name],
  );
  return rows[0]?.ok === true;
}

async function create(client: pg.ClientBase, schema: string): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      // CREATE SCHEMA IF NOT EXISTS asks for CREATE on the database even when the schema exists.
      const { rows } = await client.query<{ found: boolean }>(
        'SELECT to_regnamespace($1) IS NOT NULL AS found',
        [quoteIdent(schema)],
      );
      const statements = createLedgerSql(schema, rows[0]?.found !== true);
      // Durable before any pair writes into it, whatever the target's synchronous_commit says:
      // a crash must not take the ledger away from under the rows that follow.
      await client.query(`BEGIN; SET LOCAL synchronous_commit = on; ${statements}; COMMIT`);
      return;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      if (attempt >= 2 || !RACED.has(sqlstateOf(error) ?? '')) throw error;
    }
  }
}

/** Adds source_lsn to a ledger made before sync; looked up first, as ALTER TABLE takes a lock. */
async function ensureSourceLsn(client: pg.ClientBase, schema: string): Promise<void> {
  const { rows } = await client.query(
    `SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = $2 AND NOT attisdropped`,
    [ledgerName(schema), SOURCE_LSN_COLUMN],
  );
  if (rows.length === 0) await client.query(addSourceLsnSql(schema));
}

/**
 * Readies a target's ledger at the start of a run: made when missing (where the role may),
 * rows older than `keepDays` removed (never this run's), and what this run id committed read.
 * A target whose role may not is reported unavailable, with the reason; the run goes on.
 */
export async function openLedger(
  client: pg.ClientBase,
  options: {
    readonly schema: string;
    readonly runId: string;
    readonly keepDays: number;
    /** pgcopy sync: the ledger must have its source_lsn column (added to an older ledger). */
    readonly withSourceLsn?: boolean;
  },
): Promise<TargetLedger> {
  const { schema, runId } = options;
  try {
    if (!(await usable(client, schema))) await create(client, schema);
  } catch (error) {
    return {
      available: false,
      schema,
      reason: `the ledger ${ledgerName(schema)} could not be created (${describeError(error)})`,
    };
  }
  if (options.withSourceLsn === true) {
    try {
      await ensureSourceLsn(client, schema);
    } catch (error) {
      return {
        available: false,
        schema,
        reason: `the ledger ${ledgerName(schema)} has no ${SOURCE_LSN_COLUMN} column and it could not be added (${describeError(error)})`,
      };
    }
  }
  const pruned = await client
    .query(
      `DELETE FROM ${ledgerName(schema)} WHERE committed_at < now() - make_interval(days => $1) AND run_id <> $2`,
      [options.keepDays, runId],
    )
    .then(
      (r) => r.rowCount ?? 0,
      () => 0, // a role that may write but not delete keeps its history: nothing is lost
    );
  const { rows } = await client.query<{
    target_schema: string;
    target_table: string;
    plan_hash: string;
    rows: string;
    committed_at: Date;
    prepared_parts: string[];
  }>(
    `SELECT target_schema, target_table, plan_hash, rows::text, committed_at, prepared_parts
       FROM ${ledgerName(schema)} WHERE run_id = $1`,
    [runId],
  );
  return {
    available: true,
    schema,
    pruned,
    committed: rows.map((r) => ({
      targetSchema: r.target_schema,
      targetTable: r.target_table,
      planHash: r.plan_hash,
      rows: Number(r.rows),
      committedAt: r.committed_at.toISOString(),
      preparedParts: r.prepared_parts,
    })),
  };
}

/** The statement that records a pair in its own transaction, before its COMMIT. */
export function ledgerRecordSql(ledger: TargetLedger | undefined, entry: LedgerEntry): string[] {
  return ledger?.available ? [recordSql(ledger.schema, entry)] : [];
}

/** Whether a prepared part is named by a committed pair of the ledger (its table committed). */
export function ledgerCommittedPartSql(schema: string, gidSql: string): string {
  return `EXISTS (SELECT 1 FROM ${ledgerName(schema)} l WHERE ${gidSql} = ANY (l.prepared_parts))`;
}
