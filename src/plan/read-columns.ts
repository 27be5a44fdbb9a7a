import { quoteIdent } from '../db/quote.js';
import { maskOf, sourceColumnName, type TablePlan } from './types.js';

/**
 * What the source is read for one written column: the key of a shared read's columns. Two
 * members' columns are one column of the read when, and only when, they read the same thing from
 * the source, whatever each target calls the column. A per-target source expression (a mask, a
 * cast) is another `sql`, so it is read on its own rather than merged with a plain read.
 */
export interface ReadColumn {
  /** The source column read, as the plan names it. */
  readonly source: string;
  /** The select-list expression over the source table, quoted: the column's identity in a read. */
  readonly sql: string;
}

/**
 * The source read of the written (target) column `column` of `plan`: a data rule's expression
 * where one replaces it, so that targets with different rules (or none) never share a column.
 */
export function readColumnOf(
  plan: Pick<TablePlan, 'renamed' | 'masks'>,
  column: string,
): ReadColumn {
  const source = sourceColumnName(plan, column);
  return { source, sql: maskOf(plan, column)?.sql ?? quoteIdent(source) };
}

/** The plan's written columns as the source is read for them, in the plan's order. */
export function readColumnsOf(
  plan: Pick<TablePlan, 'columns' | 'renamed' | 'masks'>,
): ReadColumn[] {
  return plan.columns.map((column) => readColumnOf(plan, column));
}

/** Every member's source reads, each once (by its expression), in the order they first appear. */
export function sharedReadColumns(
  group: readonly Pick<TablePlan, 'columns' | 'renamed' | 'masks'>[],
): ReadColumn[] {
  const read = new Map<string, ReadColumn>();
  for (const column of group.flatMap(readColumnsOf)) {
    if (!read.has(column.sql)) read.set(column.sql, column);
  }
  return [...read.values()];
}
