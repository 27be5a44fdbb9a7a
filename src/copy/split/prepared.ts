import { createHash } from 'node:crypto';
import type pg from 'pg';
import { quoteLiteral } from '../../db/quote.js';
import { ledgerCommittedPartSql } from '../../ledger/target-ledger.js';

/**
 * Prepared transactions of a split table. The first part commits normally: its commit is the
 * table's decision. Every other part is prepared first, under a name that carries the first part's
 * transaction id: `pgcopy_<run>_x<xid>_<table>_<part>` (<run>: hex digits of the run id's hash). Whatever happens to pgcopy after that, the
 * target itself tells how to finish a prepared part (txid_status of that id: committed, or
 * aborted), so leftovers are settled safely by the next run, never guessed.
 */
export const GID_PREFIX = 'pgcopy_';

/** Leaves room under PostgreSQL's 200-byte gid for any table name (4 bytes a character at worst). */
const TABLE_CHARS = 40;

/** The prefix shared by the prepared parts of one attempt at one table. */
export function attemptPrefix(runId: string, deciderXid: string): string {
  return `${GID_PREFIX}${runTag(runId)}_x${deciderXid}_`;
}

/** A run id as hex digits of fixed length: any run id fits the gid, and its pattern stays. */
export function runTag(runId: string): string {
  return createHash('sha256').update(runId).digest('hex').slice(0, 12);
}

export function partGid(prefix: string, table: string, part: number): string {
  return `${prefix}${table.slice(0, TABLE_CHARS)}_${part}`;
}

/** The first part's transaction id (assigned now: the part will write anyway). */
export async function deciderXid(target: pg.ClientBase): Promise<string> {
  const result = await target.query<{ xid: string }>('SELECT txid_current()::text AS xid');
  return result.rows[0]?.xid ?? '';
}

export async function prepare(target: pg.ClientBase, gid: string): Promise<void> {
  await target.query(`PREPARE TRANSACTION ${quoteLiteral(gid)}`);
}

/** What settling found: parts committed or rolled back, and those whose decision is not known yet. */
export interface Settled {
  readonly committed: readonly string[];
  readonly rolledBack: readonly string[];
  readonly pending: readonly string[];
}

interface PreparedRow {
  readonly gid: string;
  readonly status: string | null;
}

/**
 * Finishes this database's prepared transactions whose gid starts with `prefix` (and pgcopy's),
 * each as its first part ended: COMMIT PREPARED when it committed, ROLLBACK PREPARED when it
 * aborted. One still in progress (its run is between PREPARE and COMMIT) is left alone.
 */
export async function settlePrepared(
  client: pg.ClientBase,
  prefix: string,
  ledgerSchema?: string,
): Promise<Settled> {
  const decider = `txid_status(substring(gid FROM '^pgcopy_[0-9a-f]+_x([0-9]+)_')::bigint)`;
  // The ledger names the parts of every table that committed: it outlasts the transaction
  // ids' own status (which a server forgets, long after).
  const status = ledgerSchema
    ? `CASE WHEN ${ledgerCommittedPartSql(ledgerSchema, 'gid')} THEN 'committed' ELSE ${decider} END`
    : decider;
  const found = await client.query<PreparedRow>(
    `SELECT gid, ${status} AS status
       FROM pg_prepared_xacts
      WHERE database = current_database() AND left(gid, length($1)) = $1 AND left(gid, 7) = 'pgcopy_'
      ORDER BY gid`,
    [prefix],
  );
  const settled = {
    committed: [] as string[],
    rolledBack: [] as string[],
    pending: [] as string[],
  };
  for (const { gid, status } of found.rows) {
    if (status === 'committed') {
      await client.query(`COMMIT PREPARED ${quoteLiteral(gid)}`);
      settled.committed.push(gid);
    } else if (status === 'aborted') {
      await client.query(`ROLLBACK PREPARED ${quoteLiteral(gid)}`);
      settled.rolledBack.push(gid);
    } else {
      settled.pending.push(gid);
    }
  }
  return settled;
}
