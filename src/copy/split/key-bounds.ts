import type pg from 'pg';
import { quoteIdent } from '../../db/quote.js';
import type { TablePlan } from '../../plan/types.js';
import { sourceRelation } from '../sql.js';

/**
 * The planner's histogram of the key: for a unique column, the bounds of buckets that each hold
 * about as many rows of the sample as the others. The parent's own rows for a table read with
 * `ONLY`; its partitions' (inherited) for a partitioned one.
 */
const HISTOGRAM_SQL = `
SELECT histogram_bounds::text::int8[]::text[] AS bounds
FROM pg_catalog.pg_stats
WHERE schemaname = $1 AND tablename = $2 AND attname = $3 AND inherited = $4`;

/** `parts - 1` evenly spaced picks from `values` (ascending), its ends left out. */
export function quantiles(values: readonly string[], parts: number): string[] {
  const last = values.length - 1;
  return Array.from(
    { length: parts - 1 },
    (_, i) => values[Math.round(((i + 1) * last) / parts)] as string,
  );
}

/**
 * The `parts - 1` bounds (ascending, as PostgreSQL prints the integers) between the parts of a
 * key split. From the histogram where the table has statistics: its bounds are quantiles of the
 * key, so parts hold similar numbers of rows however the keys are spread (gaps, skew, negative
 * keys), where even steps between the least and greatest key could leave one part nearly all the
 * rows. Without statistics (never analyzed), even steps between the least and greatest key of
 * the snapshot (read on `source`, which is in it). Bounds only balance the parts: whatever they
 * are, the first range is open below and the last open above, so every row is read once.
 */
export async function keyBounds(
  source: pg.ClientBase,
  plan: TablePlan,
  key: string,
  parts: number,
): Promise<string[]> {
  const histogram = await source.query<{ bounds: string[] | null }>(HISTOGRAM_SQL, [
    plan.sourceSchema,
    plan.sourceTable,
    key,
    plan.sourceKind === 'p',
  ]);
  const bounds = histogram.rows[0]?.bounds ?? [];
  if (bounds.length >= 2) return quantiles(bounds, parts);
  const column = quoteIdent(key);
  const even = await source.query<{ bound: string }>(
    `SELECT floor(lo + (hi - lo) * i / $1::int)::int8::text AS bound
       FROM (SELECT coalesce(min(${column}), 0)::numeric AS lo, coalesce(max(${column}), 0)::numeric AS hi
               FROM ${sourceRelation(plan)}) AS extent,
            generate_series(1, $1::int - 1) AS i
      ORDER BY i`,
    [parts],
  );
  return even.rows.map((r) => r.bound);
}
