import { qualifiedName, quoteIdent } from '../db/quote.js';
import type { TablePlan } from '../plan/types.js';

/** The SQL of one table's copy, every identifier quoted through quoteIdent. */

export function columnList(columns: readonly string[]): string {
  return columns.map(quoteIdent).join(', ');
}

export function copyOptions(format: 'binary' | 'text'): string {
  return format === 'binary' ? '(FORMAT binary)' : '(FORMAT text)';
}

/** COPY (SELECT shared columns FROM source [WHERE filter]) TO STDOUT. The filter is operator SQL. */
export function copyOutSql(plan: TablePlan): string {
  const where = plan.where === undefined ? '' : ` WHERE (${plan.where})`;
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

/** INSERT ... ON CONFLICT (key) DO UPDATE of the shared non-key columns. */
export function upsertSql(plan: TablePlan, key: readonly string[]): string {
  const keySet = new Set(key);
  const updates = plan.columns.filter((c) => !keySet.has(c));
  const action =
    updates.length === 0
      ? 'DO NOTHING'
      : `DO UPDATE SET ${updates.map((c) => `${quoteIdent(c)} = EXCLUDED.${quoteIdent(c)}`).join(', ')}`;
  const overriding = plan.overridingSystemValue ? ' OVERRIDING SYSTEM VALUE' : '';
  return `INSERT INTO ${targetName(plan)} (${columnList(plan.columns)})${overriding} SELECT ${columnList(plan.columns)} FROM ${quoteIdent(STAGING_TABLE)} ON CONFLICT (${columnList(key)}) ${action}`;
}
