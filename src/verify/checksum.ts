import type pg from 'pg';
import { quoteIdent, quoteLiteral } from '../db/quote.js';
import {
  maskOf,
  pairName,
  sourceColumnName,
  type ColumnPair,
  type TablePlan,
} from '../plan/types.js';
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
 * The time zones a copy's conversions ran in. `source`: the one the source's text forms were
 * printed in (the source session's own; postgres_fdw sets UTC in its remote session). `target`:
 * the target session's, which the target's input functions read a text without an offset in.
 */
export interface CopyZones {
  readonly source: string;
  readonly target: string;
}

/** The session's TimeZone, as a copy session on that side has it (pgcopy leaves it alone). */
export async function sessionZone(client: pg.ClientBase): Promise<string> {
  const { rows } = await client.query<{ tz: string }>(`SELECT current_setting('TimeZone') AS tz`);
  return rows[0]?.tz ?? 'UTC';
}

/** The zones of `plan`'s copy, from its source and target sessions (or readers set up alike). */
export async function copyZones(
  plan: TablePlan,
  source: pg.ClientBase,
  target: pg.ClientBase,
): Promise<CopyZones> {
  const [sourceZone, targetZone] = await Promise.all([
    plan.strategy === 'fdw' ? 'UTC' : sessionZone(source),
    sessionZone(target),
  ]);
  return { source: sourceZone, target: targetZone };
}

/**
 * Types whose text form the session's TimeZone decides and that sourceColumn cannot print in
 * another zone: arrays and ranges of timestamptz (a plain timestamptz it can).
 */
// A timestamp's precision is one digit (0 to 6).
const ZONED_OUTPUT = /timestamp(\(\d\))? with time zone\[|^tstz(multi)?range/;
/** Types whose text form never carries an offset: timestamptz's input reads them in its TimeZone. */
const ZONELESS = /^(date|timestamp(\(\d\))? without time zone)$/;
const TIMESTAMPTZ = /^timestamp(\(\d\))? with time zone$/;

function converted(pair: ColumnPair | undefined): pair is ColumnPair & { targetTypeSql: string } {
  return (
    pair?.targetTypeSql !== undefined &&
    pair.conversion !== 'same' &&
    pair.targetTypeSql !== pair.sourceTypeSql
  );
}

/**
 * The TimeZone both sides' checksums run in: the target's, in which every input function reads as
 * the target's did (text into timestamptz, time into timetz, ranges, arrays), unless a converted
 * column's source text depended on the zone it was printed in in a way sourceColumn cannot
 * reproduce (an array or range of timestamptz): then the source's. Columns of the same type print
 * alike in either.
 */
export function checksumZone(plan: TablePlan, zones: CopyZones): string {
  const printedInZone = plan.pairs.some(
    (p) => plan.columns.includes(p.name) && converted(p) && ZONED_OUTPUT.test(p.sourceType),
  );
  return printedInZone ? zones.source : zones.target;
}

/**
 * A timestamptz's text form as a session in `zone` prints it (ISO: the wall-clock time there, its
 * offset as +HH[:MM[:SS]], then BC), whatever this session's TimeZone.
 */
function timestamptzText(column: string, zone: string): string {
  const local = `(${column} AT TIME ZONE ${quoteLiteral(zone)})`;
  const seconds = `(extract(epoch FROM ${local} - (${column} AT TIME ZONE 'UTC'))::int)`;
  const part = (value: string): string => `lpad((${value})::text, 2, '0')`;
  const abs = `abs(${seconds})`;
  const offset = `CASE WHEN ${seconds} < 0 THEN '-' ELSE '+' END || ${part(`${abs} / 3600`)}
    || CASE WHEN ${abs} % 3600 <> 0 THEN ':' || ${part(`${abs} % 3600 / 60`)} ELSE '' END
    || CASE WHEN ${abs} % 60 <> 0 THEN ':' || ${part(`${abs} % 60`)} ELSE '' END`;
  return `CASE WHEN isfinite(${column}) THEN regexp_replace(format('%s', ${local}), '( BC)?$', (${offset}) || '\\1') ELSE format('%s', ${column}) END`;
}

/**
 * The source's column as the copy converted it, in the target's type: a column of another type
 * went through the source's text output (format('%s'), as COPY prints it, under the copy's
 * settings; not CAST, which for char(n), bool or inet is a function of its own) and the target
 * type's input function. The checksum's one session zone may be neither side's (checksumZone): a
 * timestamptz is printed as the source's zone printed it, and a text without an offset read into
 * timestamptz is placed in the target's zone, with AT TIME ZONE.
 * A renamed column is read under its source name.
 */
function sourceColumn(plan: TablePlan, name: string, zones: CopyZones): string {
  const pair = plan.pairs.find((p) => p.name === name);
  // A masked column is compared with the rule's output, computed again by the source: the
  // rules are deterministic (an expression's is the operator's to keep so).
  const mask = maskOf(plan, name);
  const column = mask ? `(${mask.sql})` : quoteIdent(sourceColumnName(plan, name));
  if (!converted(pair)) return column;
  const printed = TIMESTAMPTZ.test(pair.sourceType)
    ? timestamptzText(column, zones.source)
    : `format('%s', ${column})`;
  const text = `CASE WHEN ${column} IS NULL THEN NULL ELSE ${printed} END`;
  if (ZONELESS.test(pair.sourceType) && TIMESTAMPTZ.test(pair.targetType)) {
    const local = `(CAST(${text} AS timestamp) AT TIME ZONE ${quoteLiteral(zones.target)})`;
    return `CAST(${local} AS ${pair.targetTypeSql})`;
  }
  return `CAST(${text} AS ${pair.targetTypeSql})`;
}

/**
 * count(*) and the sum of each row's md5 (first 16 hex digits as a signed 64-bit integer, summed
 * as numeric): a multiset checksum, so the order rows are read in does not matter, computed by
 * PostgreSQL where the rows are. The row's text form depends on the session's settings: both
 * sides run under SESSION_SETTINGS_SQL and one TimeZone (see checksumZone).
 */
function checksumSql(columns: readonly string[], from: string): string {
  return `SELECT count(*)::int8::text AS rows,
    coalesce(sum(('x' || left(md5(ROW(${columns.join(', ')})::text), 16))::bit(64)::int8::numeric), 0)::text AS sum
    FROM ${from}`;
}

export function sourceChecksumSql(plan: TablePlan, zones: CopyZones): string {
  const columns = plan.columns.map((c) => sourceColumn(plan, c, zones));
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

/**
 * Runs a checksum query inside the client's open transaction, in `zone` (see checksumZone). The
 * zone is set, the query run and the zone set back in one query string: a shared read's source
 * session serves the checksums of several targets at once, and pg runs one query string whole.
 */
export async function checksum(
  client: pg.ClientBase,
  sql: string,
  zone: string,
): Promise<TableChecksum> {
  const before = await sessionZone(client);
  const setZone = (name: string): string =>
    `SELECT set_config('TimeZone', ${quoteLiteral(name)}, true)`;
  const results = (await client.query(
    `${setZone(zone)}; ${sql}; ${setZone(before)}`,
  )) as unknown as pg.QueryResult<{ rows: string; sum: string }>[];
  const row = results[1]?.rows[0];
  return { rows: Number(row?.rows ?? 0), sum: row?.sum ?? '0' };
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
