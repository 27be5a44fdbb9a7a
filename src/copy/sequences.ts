import type pg from 'pg';
import type { TablePlan } from '../plan/types.js';
import { quoteIdent } from '../db/quote.js';
import { targetName } from './sql.js';

/**
 * Moves every sequence owned by a written column forward to at least the column's maximum, so the
 * application's next insert does not collide with a copied value. Runs inside the load transaction.
 */
export async function advanceOwnedSequences(
  client: pg.ClientBase,
  plan: TablePlan,
): Promise<string[]> {
  const owned = await client.query<{ column: string; sequence: string }>(
    `SELECT a.attname AS column, pg_get_serial_sequence($1, a.attname) AS sequence
       FROM pg_attribute a
      WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped
        AND a.attname = ANY($2::text[]) AND pg_get_serial_sequence($1, a.attname) IS NOT NULL`,
    [targetName(plan), plan.columns],
  );
  const advanced: string[] = [];
  for (const { column, sequence } of owned.rows) {
    const result = await client.query<{ v: string | null }>(
      `SELECT setval($1::regclass, m) AS v
         FROM (SELECT max(${quoteIdent(column)})::bigint AS m FROM ${targetName(plan)}) s
        WHERE m IS NOT NULL AND m > coalesce(pg_sequence_last_value($1::regclass), 0)`,
      [sequence],
    );
    if (result.rowCount === 1) advanced.push(sequence);
  }
  return advanced;
}
