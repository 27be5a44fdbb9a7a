import type pg from 'pg';
import type { PlannedSequence, TablePlan } from '../plan/types.js';
import { qualifiedName, quoteIdent, quoteLiteral } from '../db/quote.js';
import { describeError } from '../errors.js';
import { targetRelation } from './sql.js';

export interface SequenceOutcome {
  readonly advanced: string[];
  readonly warnings: string[];
}

/**
 * Advisory-lock keys: a hash of the namespace, and a hash of the sequence's qualified name (not
 * its OID: a name that does not resolve must not make the unlock fail in its turn).
 */
const LOCK_NAMESPACE = 'pgcopy: advance sequence';
function lockArgs(sequence: string): string {
  return `pg_catalog.hashtext(${quoteLiteral(LOCK_NAMESPACE)}), pg_catalog.hashtext(${quoteLiteral(sequence)})`;
}

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
    const lock = lockArgs(sequence);
    // A sequence the role may not read or set must not cost the copied rows: keep them, and warn.
    // One round trip when it goes well; the savepoint makes a failure cost nothing but a warning.
    try {
      const results = await client.query(
        [
          'SAVEPOINT pgcopy_sequence',
          `SELECT pg_catalog.pg_advisory_lock(${lock})`,
          setPastCopiedSql(plan, planned, sequence),
          'RELEASE SAVEPOINT pgcopy_sequence',
          `SELECT pg_catalog.pg_advisory_unlock(${lock})`,
        ].join('; '),
      );
      // pg answers a query of several statements with one result per statement.
      const [, , set] = results as unknown as pg.QueryResult[];
      if (set?.rowCount === 1) outcome.advanced.push(sequence);
    } catch (error) {
      // The lock may or may not have been taken before the failure; unlocking one not held only
      // warns, and the keys cannot fail to compute.
      await client.query(
        `ROLLBACK TO SAVEPOINT pgcopy_sequence; SELECT pg_catalog.pg_advisory_unlock(${lock})`,
      );
      outcome.warnings.push(notAdvanced(planned, error));
    }
  }
  return outcome;
}

/**
 * setval to the column's maximum unless the sequence's next value is already past it; for a
 * descending sequence, to the column's minimum unless its next value is already below it.
 */
function setPastCopiedSql(plan: TablePlan, planned: PlannedSequence, sequence: string): string {
  const [edge, past, pastOrAt] = planned.descending
    ? ['min', 'OPERATOR(pg_catalog.<)', 'OPERATOR(pg_catalog.<=)']
    : ['max', 'OPERATOR(pg_catalog.>)', 'OPERATOR(pg_catalog.>=)'];
  // Next value: last_value + increment once called, last_value itself before the first nextval.
  return `SELECT pg_catalog.setval(${quoteLiteral(sequence)}::pg_catalog.regclass, m)
       FROM (SELECT pg_catalog.${edge}(${quoteIdent(planned.column)})::pg_catalog.int8 AS m FROM ${targetRelation(plan)}) mx,
            (SELECT last_value, is_called FROM ${sequence}) cur
      WHERE m IS NOT NULL
        AND CASE WHEN cur.is_called THEN m ${past} cur.last_value ELSE m ${pastOrAt} cur.last_value END`;
}

function notAdvanced(planned: PlannedSequence, error: unknown): string {
  const where = planned.descending ? 'moved below' : 'advanced past';
  return `sequence ${planned.schema}.${planned.name} of column "${planned.column}" not ${where} the copied values: ${describeError(error)}`;
}
