import type pg from 'pg';
import { qualifiedName, quoteLiteral } from '../../db/quote.js';
import type { TablePlan } from '../../plan/types.js';

/** One part's blocks: [from, to); the first part has no lower bound, the last no upper one. */
export interface BlockRange {
  readonly from?: number;
  readonly to?: number;
}

/**
 * `parts` ranges of about equal numbers of blocks. The last one is open-ended, so rows in blocks
 * added since the size was read (they are not in the snapshot, but the rule costs nothing) are
 * never left out.
 */
export function blockRanges(blocks: number, parts: number): BlockRange[] {
  const bound = (i: number): number => Math.floor((i * blocks) / parts);
  return Array.from({ length: parts }, (_, i) => ({
    ...(i > 0 ? { from: bound(i) } : {}),
    ...(i < parts - 1 ? { to: bound(i + 1) } : {}),
  }));
}

const tid = (block: number): string => `${quoteLiteral(`(${block},0)`)}::tid`;

/**
 * The plan of one part: the table's own filter (if any) and the part's ctid range, read by a TID
 * range scan (PostgreSQL 14+) of those blocks only. The filter keeps its own line end, so that a
 * trailing `-- comment` in it cannot swallow the range.
 */
export function partPlan(plan: TablePlan, range: BlockRange): TablePlan {
  const conditions = [
    ...(plan.where === undefined ? [] : [`(${plan.where}\n)`]),
    ...(range.from === undefined ? [] : [`ctid >= ${tid(range.from)}`]),
    ...(range.to === undefined ? [] : [`ctid < ${tid(range.to)}`]),
  ];
  return { ...plan, where: conditions.length > 0 ? conditions.join(' AND ') : undefined };
}

/** The source table's size in blocks, as of now (the heap's main fork; not MVCC, not needed). */
export async function blockCount(source: pg.ClientBase, plan: TablePlan): Promise<number> {
  const table = quoteLiteral(qualifiedName(plan.sourceSchema, plan.sourceTable));
  const result = await source.query<{ blocks: string }>(
    `SELECT pg_relation_size(${table}::regclass) / current_setting('block_size')::int AS blocks`,
  );
  return Number(result.rows[0]?.blocks ?? 0);
}
