import type pg from 'pg';
import type { PlannedSequence, TablePlan } from '../plan/types.js';
import { qualifiedName, quoteIdent } from '../db/quote.js';
import { describeError } from '../errors.js';
import { targetRelation } from './sql.js';

export interface SequenceOutcome {
  readonly advanced: string[];
  readonly warnings: string[];
}

/** Advisory-lock namespace: the first key of the two-key lock, the sequence's OID the second. */
const LOCK_NAMESPACE = 'pgcopy: advance sequence';
const LOCK_ARGS = `pg_catalog.hashtext($1), $2::pg_catalog.regclass::pg_catalog.oid::pg_catalog.int4`;

/**
 * Moves every sequence the plan lists (owned by, or called from the default of, a written column)
 * forward to at least the column's maximum, so the application's next insert does not collide with
 * a copied value. Never moves one back: a sequence whose next value is already past the maximum
 * (used further, created with a higher START, or moved there by another table that shares it) is
 * left alone. The compare-and-set holds an advisory lock on the sequence, so that tables sharing
 * one and loading at once leave it at the highest of their maxima. Runs inside the load
 * transaction; setval itself is not transactional, so the lock need not last until commit.
 */
export async function advanceSequences(
  client: pg.ClientBase,
  plan: TablePlan,
): Promise<SequenceOutcome> {
  const outcome: SequenceOutcome = { advanced: [], warnings: [] };
  for (const planned of plan.sequences ?? []) {
    const sequence = qualifiedName(planned.schema, planned.name);
    // A sequence the role may not read or set must not cost the copied rows: keep them, and warn.
    await client.query('SAVEPOINT pgcopy_sequence');
    let locked = false;
    try {
      await client.query(`SELECT pg_catalog.pg_advisory_lock(${LOCK_ARGS})`, [
        LOCK_NAMESPACE,
        sequence,
      ]);
      locked = true;
      if (await setPastMax(client, plan, planned.column, sequence)) {
        outcome.advanced.push(sequence);
      }
      await client.query('RELEASE SAVEPOINT pgcopy_sequence');
    } catch (error) {
      await client.query('ROLLBACK TO SAVEPOINT pgcopy_sequence');
      outcome.warnings.push(notAdvanced(planned, error));
    } finally {
      if (locked) {
        await client.query(`SELECT pg_catalog.pg_advisory_unlock(${LOCK_ARGS})`, [
          LOCK_NAMESPACE,
          sequence,
        ]);
      }
    }
  }
  return outcome;
}

/** setval to the column's maximum unless the sequence's next value is already past it. */
async function setPastMax(
  client: pg.ClientBase,
  plan: TablePlan,
  column: string,
  sequence: string,
): Promise<boolean> {
  // Next value: last_value + increment once called, last_value itself before the first nextval.
  const result = await client.query(
    `SELECT pg_catalog.setval($1::pg_catalog.regclass, m)
       FROM (SELECT pg_catalog.max(${quoteIdent(column)})::pg_catalog.int8 AS m FROM ${targetRelation(plan)}) mx,
            (SELECT last_value, is_called FROM ${sequence}) cur
      WHERE m IS NOT NULL
        AND CASE WHEN cur.is_called THEN m > cur.last_value ELSE m >= cur.last_value END`,
    [sequence],
  );
  return result.rowCount === 1;
}

function notAdvanced(planned: PlannedSequence, error: unknown): string {
  return `sequence ${planned.schema}.${planned.name} of column "${planned.column}" not advanced past the copied values: ${describeError(error)}`;
}
