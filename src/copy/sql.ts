import { qualifiedName, quoteIdent } from '../db/quote.js';
import type { TablePlan } from '../plan/types.js';

/** The SQL of one table's copy, every identifier quoted through quoteIdent. */

/**
 * Session settings for both ends of a copy, so that a value's text form is exact and read back the
 * same whatever the server's, database's or role's defaults: ISO dates (a `SQL, DMY` source would
 * otherwise be misread by an `MDY` target), unambiguous interval signs, shortest-exact floats (with
 * extra_float_digits <= 0 a float loses digits), hex bytea, and money without a locale.
 * The time zone is left alone: timestamptz's text form carries its offset.
 * No idle-in-transaction timeout (a worker waits, in its transaction, on the other side) and no
 * statement timeout (one COPY may rightly take hours).
 */
export const SESSION_SETTINGS_SQL = [
  `SET DateStyle = 'ISO'`,
  `SET IntervalStyle = 'postgres'`,
  `SET extra_float_digits = 3`,
  `SET bytea_output = 'hex'`,
  `SET lc_monetary = 'C'`,
  `SET idle_in_transaction_session_timeout = 0`,
  `SET statement_timeout = 0`,
  // As pg_dump does: a policy that would hide rows raises an error instead of filtering silently.
  `SET row_security = off`,
].join('; ');

export function columnList(columns: readonly string[]): string {
  return columns.map(quoteIdent).join(', ');
}

export function copyOptions(format: 'binary' | 'text'): string {
  return format === 'binary' ? '(FORMAT binary)' : '(FORMAT text)';
}

/**
 * COPY (SELECT shared columns FROM source [WHERE filter]) TO STDOUT. The filter is operator SQL;
 * the closing parenthesis goes on its own line so that a trailing `-- comment` cannot swallow it.
 */
export function copyOutSql(plan: TablePlan): string {
  const where = plan.where === undefined ? '' : ` WHERE (${plan.where}\n)`;
  return `COPY (SELECT ${columnList(plan.columns)} FROM ${qualifiedName(plan.sourceSchema, plan.sourceTable)}${where}) TO STDOUT WITH ${copyOptions(plan.format)}`;
}

export function targetName(plan: TablePlan): string {
  return qualifiedName(plan.targetSchema, plan.targetTable);
}

export const STAGING_TABLE = 'pgcopy_staging';

/** A temporary table with exactly the written columns and the target's types; dropped at commit. */
export function createStagingSql(plan: TablePlan): string {
  return `CREATE TEMPORARY TABLE ${quoteIdent(STAGING_TABLE)} ON COMMIT DROP AS SELECT ${columnList(plan.columns)} FROM ${targetName(plan)} WITH NO DATA`;
}

export function copyInSql(plan: TablePlan, table: string): string {
  return `COPY ${table} (${columnList(plan.columns)}) FROM STDIN WITH ${copyOptions(plan.format)}`;
}

/**
 * INSERT ... ON CONFLICT (key) DO UPDATE of the shared non-key columns. GENERATED ALWAYS identity
 * columns are inserted (OVERRIDING SYSTEM VALUE) but never updated: PostgreSQL refuses it (428C9).
 */
export function upsertSql(plan: TablePlan, key: readonly string[]): string {
  const keep = new Set([...key, ...(plan.identityAlways ?? [])]);
  const updates = plan.columns.filter((c) => !keep.has(c));
  const action =
    updates.length === 0
      ? 'DO NOTHING'
      : `DO UPDATE SET ${updates.map((c) => `${quoteIdent(c)} = EXCLUDED.${quoteIdent(c)}`).join(', ')}`;
  const overriding = plan.overridingSystemValue ? ' OVERRIDING SYSTEM VALUE' : '';
  return `INSERT INTO ${targetName(plan)} (${columnList(plan.columns)})${overriding} SELECT ${columnList(plan.columns)} FROM ${quoteIdent(STAGING_TABLE)} ON CONFLICT (${columnList(key)}) ${action}`;
}
