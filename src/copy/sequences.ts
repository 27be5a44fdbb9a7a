import type pg from 'pg';
import type { TablePlan } from '../plan/types.js';
import { qualifiedName, quoteIdent } from '../db/quote.js';
import { describeError } from '../errors.js';
import { targetName, targetRelation } from './sql.js';

export interface SequenceOutcome {
  readonly advanced: string[];
  readonly warnings: string[];
}

/**
 * Moves every sequence owned by a written column forward to at least the column's maximum, so the
 * application's next insert does not collide with a copied value. Never moves a sequence back: one
 * whose next value is already past the maximum (used further, or created with a higher START) is
 * left alone, and so are descending sequences. Runs inside the load transaction.
 */
export async function advanceOwnedSequences(
  client: pg.ClientBase,
  plan: TablePlan,
): Promise<SequenceOutcome> {
  const owned = await client.query<{ column: string; schema: string; name: string }>(
    `SELECT a.attname AS column, sn.nspname AS schema, sc.relname AS name
       FROM pg_attribute a
       CROSS JOIN LATERAL (SELECT pg_get_serial_sequence($1, a.attname)::regclass AS oid) s
       JOIN pg_class sc ON sc.oid = s.oid
       JOIN pg_namespace sn ON sn.oid = sc.relnamespace
       JOIN pg_sequence ps ON ps.seqrelid = s.oid
      WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped
        AND a.attname = ANY($2::text[]) AND ps.seqincrement > 0
      ORDER BY a.attnum`,
    [targetName(plan), plan.columns],
  );
  const outcome: SequenceOutcome = { advanced: [], warnings: [] };
  for (const { column, schema, name } of owned.rows) {
    const sequence = qualifiedName(schema, name);
    // A sequence the role may not read or set must not cost the copied rows: keep them, and warn.
    await client.query('SAVEPOINT pgcopy_sequence');
    try {
      // Next value: last_value + increment once called, last_value itself before the first nextval.
      const result = await client.query<{ v: string | null }>(
        `SELECT setval($1::regclass, m) AS v
         FROM (SELECT max(${quoteIdent(column)})::bigint AS m FROM ${targetRelation(plan)}) mx,
              (SELECT last_value, is_called FROM ${sequence}) cur
        WHERE m IS NOT NULL
          AND CASE WHEN cur.is_called THEN m > cur.last_value ELSE m >= cur.last_value END`,
        [sequence],
      );
      await client.query('RELEASE SAVEPOINT pgcopy_sequence');
      if (result.rowCount === 1) outcome.advanced.push(sequence);
    } catch (error) {
      await client.query('ROLLBACK TO SAVEPOINT pgcopy_sequence');
      outcome.warnings.push(
        `sequence ${schema}.${name} of column "${column}" not advanced past the copied values: ${describeError(error)}`,
      );
    }
  }
  return outcome;
}
