import type pg from 'pg';
import { qualifiedName, quoteIdent, quoteLiteral } from '../../db/quote.js';
import type { TablePlan } from '../../plan/types.js';

/** One part's share: [from, to); the first part has no lower bound, the last no upper one. */
export interface Range<T> {
  readonly from?: T;
  readonly to?: T;
}

/** One part's blocks. */
export type BlockRange = Range<number>;

/**
 * The ranges between `bounds` (ascending; `parts - 1` of them): the first open below, the last
 * open above, so that every row falls in exactly one part whatever the bounds.
 */
export function rangesBetween<T>(bounds: readonly T[]): Range<T>[] {
  return Array.from({ length: bounds.length + 1 }, (_, i) => ({
    ...(i > 0 ? { from: bounds[i - 1] as T } : {}),
    ...(i < bounds.length ? { to: bounds[i] as T } : {}),
  }));
}

/**
 * `parts` ranges of about equal numbers of blocks. The last one is open-ended, so rows in blocks
 * added since the size was read (they are not in the snapshot, but the rule costs nothing) are
 * never left out.
 */
export function blockRanges(blocks: number, parts: number): BlockRange[] {
  return rangesBetween(
    Array.from({ length: parts - 1 }, (_, i) => Math.floor(((i + 1) * blocks) / parts)),
  );
}

const tid = (block: number): string => `${quoteLiteral(`(${block},0)`)}::tid`;

/**
 * The plan of one part: the table's own filter (if any) and `expression >= from AND expression <
 * to` (SQL of both bounds). The filter keeps its own line end, so that a trailing `-- comment` in
 * it cannot swallow the range.
 */
function withRange(plan: TablePlan, expression: string, range: Range<string>): TablePlan {
  const conditions = [
    ...(plan.where === undefined ? [] : [`(${plan.where}\n)`]),
    ...(range.from === undefined ? [] : [`${expression} >= ${range.from}`]),
    ...(range.to === undefined ? [] : [`${expression} < ${range.to}`]),
  ];
  return { ...plan, where: conditions.length > 0 ? conditions.join(' AND ') : undefined };
}

/** A part by its ctid range, read by a TID range scan (PostgreSQL 14+) of those blocks only. */
export function partPlan(plan: TablePlan, range: BlockRange): TablePlan {
  return withRange(plan, 'ctid', {
    ...(range.from === undefined ? {} : { from: tid(range.from) }),
    ...(range.to === undefined ? {} : { to: tid(range.to) }),
  });
}

/**
 * A part by a range of the integer key `key` (a source column, read by the filter whether or not
 * it is copied). The bounds are integers as PostgreSQL printed them, given as untyped literals:
 * they take the key's own type, so its index can serve the range.
 */
export function keyPartPlan(plan: TablePlan, key: string, range: Range<string>): TablePlan {
  return withRange(plan, quoteIdent(key), {
    ...(range.from === undefined ? {} : { from: quoteLiteral(range.from) }),
    ...(range.to === undefined ? {} : { to: quoteLiteral(range.to) }),
  });
}

/** The source table's size in blocks, as of now (the heap's main fork; not MVCC, not needed). */
export async function blockCount(source: pg.ClientBase, plan: TablePlan): Promise<number> {
  const table = quoteLiteral(qualifiedName(plan.sourceSchema, plan.sourceTable));
  const result = await source.query<{ blocks: string }>(
    `SELECT pg_relation_size(${table}::regclass) / current_setting('block_size')::int AS blocks`,
  );
  return Number(result.rows[0]?.blocks ?? 0);
}
