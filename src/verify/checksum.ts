import type pg from 'pg';
import { quoteIdent } from '../db/quote.js';
import { pairName, sourceColumnName, type TablePlan } from '../plan/types.js';
import {
  STAGING_TABLE,
  columnList,
  sourceRelation,
  targetRelation,
  whereClause,
} from '../copy/sql.js';

/** A side's rows of one pair: how many, and an order-independent checksum of their values. */
export interface TableChecksum {
  readonly rows: number;
  /** The sum of the first 64 bits of each row's md5, as a decimal string (exact numeric). */
  readonly sum: string;
}

/**
 * Which rows of the target a checksum covers: all, the ones this transaction wrote, or (upsert,
 * insert-new) the ones whose key this transaction staged, written by it or left as they were.
 */
export type TargetScope = 'table' | 'this-transaction' | 'staged-keys';

/**
 * The source's columns in the target's types: a column the plan converts (int -> bigint,
 * numeric(10,2) -> numeric(12,4)) is cast on the source, so both sides print it the same way.
 * A renamed column is read under its source name.
 */
function sourceColumn(plan: TablePlan, name: string): string {
  const pair = plan.pairs.find((p) => p.name === name);
  const column = quoteIdent(sourceColumnName(plan, name));
  if (!pair?.targetTypeSql || pair.targetTypeSql === pair.sourceTypeSql) return column;
  return `CAST(${column} AS ${pair.targetTypeSql})`;
}

/**
 * count(*) and the sum of each row's md5 (first 16 hex digits as a signed 64-bit integer, summed
 * as numeric): a multiset checksum, so the order rows are read in does not matter, computed by
 * PostgreSQL where the rows are. The row's text form depends on the session's settings: both
 * sides run under SESSION_SETTINGS_SQL and TimeZone UTC (see withUtc).
 */
function checksumSql(columns: readonly string[], from: string): string {
  return `SELECT count(*)::int8::text AS rows,
    coalesce(sum(('x' || left(md5(ROW(${columns.join(', ')})::text), 16))::bit(64)::int8::numeric), 0)::text AS sum
    FROM ${from}`;
}

export function sourceChecksumSql(plan: TablePlan): string {
  const columns = plan.columns.map((c) => sourceColumn(plan, c));
  return checksumSql(columns, `${sourceRelation(plan)}${whereClause(plan.where)}`);
}

/**
 * `this-transaction`: only the rows this transaction wrote (append and upsert into a table that
 * had rows): their xmin is this transaction's id (txid_current() modulo 2^32: xmin is 32-bit).
 */
export function targetChecksumSql(plan: TablePlan, scope: TargetScope): string {
  const columns = plan.columns.map(quoteIdent);
  const key = columnList(plan.conflictKey ?? []);
  const rows = {
    table: '',
    'this-transaction': ` WHERE xmin::text::int8 = txid_current() % 4294967296`,
    'staged-keys': ` WHERE (${key}) IN (SELECT ${key} FROM ${STAGING_TABLE})`,
  }[scope];
  return checksumSql(columns, `${targetRelation(plan)}${rows}`);
}

/** Runs `work` with the session's TimeZone at UTC (timestamptz prints its offset), then restores it. */
async function withUtc<T>(client: pg.ClientBase, work: () => Promise<T>): Promise<T> {
  const { rows } = await client.query<{ tz: string }>(`SELECT current_setting('TimeZone') AS tz`);
  await client.query(`SELECT set_config('TimeZone', 'UTC', true)`);
  try {
    return await work();
  } finally {
    await client.query(`SELECT set_config('TimeZone', $1, true)`, [rows[0]?.tz ?? 'UTC']);
  }
}

/** Runs a checksum query inside the client's open transaction. */
export async function checksum(client: pg.ClientBase, sql: string): Promise<TableChecksum> {
  return withUtc(client, async () => {
    const { rows } = await client.query<{ rows: string; sum: string }>(sql);
    const row = rows[0];
    return { rows: Number(row?.rows ?? 0), sum: row?.sum ?? '0' };
  });
}

/** Both sides' figures; `mismatch` says what differs, in words, or is undefined when they agree. */
export interface Comparison {
  readonly source: TableChecksum;
  readonly target: TableChecksum;
  readonly mismatch?: string;
}

/** `values: false`: only the row counts are compared (insert-new keeps the target's values). */
export function compare(
  plan: TablePlan,
  source: TableChecksum,
  target: TableChecksum,
  options: { readonly values?: boolean } = {},
): Comparison {
  if (source.rows !== target.rows) {
    const more = source.rows > target.rows ? 'the source' : 'the target';
    return {
      source,
      target,
      mismatch: `${pairName(plan)}: row counts differ (source ${source.rows}, target ${target.rows}; ${more} has ${Math.abs(source.rows - target.rows)} more)`,
    };
  }
  if (options.values !== false && source.sum !== target.sum) {
    return {
      source,
      target,
      mismatch: `${pairName(plan)}: same row count (${source.rows}) but the checksums of the values differ`,
    };
  }
  return { source, target };
}
