import type pg from 'pg';
import { quoteIdent, qualifiedName, quoteLiteral } from '../db/quote.js';
import {
  readTableIndexes,
  rebuildRefusedFor,
  type RebuildableIndex,
} from '../db/target-indexes.js';
import { CopyError, sqlstateOf } from '../errors.js';
import { pairName, type TablePlan } from '../plan/types.js';
import { pgMessage } from './table-error.js';

/** The indexes a load dropped, to create again before COMMIT, or why it kept them. */
export interface DroppedIndexes {
  readonly indexes: readonly RebuildableIndex[];
  /** The plan found indexes to rebuild but the load keeps them (the role lost the right to). */
  readonly keptBecause?: string;
}

const NONE: DroppedIndexes = { indexes: [] };

/**
 * In the table's transaction, before the rows go in (after TRUNCATE, under its lock): reads the
 * target table's indexes again (the plan's view may be old) and drops those that can be created
 * again exactly. The transaction's rollback brings them back whatever happens next.
 */
export async function dropIndexes(target: pg.ClientBase, plan: TablePlan): Promise<DroppedIndexes> {
  if (!plan.rebuildIndexes || plan.rebuildIndexes.indexes.length === 0) return NONE;
  const found = (await readTableIndexes(target, plan.targetSchema, [plan.targetTable])).get(
    plan.targetTable,
  );
  if (!found || found.rebuildable.length === 0) return NONE;
  const refused = rebuildRefusedFor(found);
  if (refused !== undefined) return { indexes: [], keptBecause: refused };
  const names = found.rebuildable.map((i) => qualifiedName(plan.targetSchema, i.name));
  await target.query(`DROP INDEX ${names.join(', ')}`);
  return { indexes: found.rebuildable };
}

/**
 * The statements that make `index` again as it was: pg_get_indexdef's text (the server's own SQL,
 * identifiers quoted by it), in the index's tablespace, then what that text leaves out: CLUSTER
 * ON, per-column statistics targets and the comment.
 */
export function createIndexStatements(plan: TablePlan, index: RebuildableIndex): string[] {
  const name = qualifiedName(plan.targetSchema, index.name);
  const statements = [
    // Local to the transaction; '' is the database's default tablespace.
    `SELECT pg_catalog.set_config('default_tablespace', ${quoteLiteral(index.tablespace ?? '')}, true)`,
    index.definition,
  ];
  if (index.clustered) {
    statements.push(
      `ALTER TABLE ${qualifiedName(plan.targetSchema, plan.targetTable)} CLUSTER ON ${quoteIdent(index.name)}`,
    );
  }
  for (const s of index.statistics) {
    statements.push(
      `ALTER INDEX ${name} ALTER COLUMN ${Math.trunc(s.column)} SET STATISTICS ${Math.trunc(s.target)}`,
    );
  }
  if (index.comment !== null) {
    statements.push(`COMMENT ON INDEX ${name} IS ${quoteLiteral(index.comment)}`);
  }
  return statements;
}

/**
 * Creates the dropped indexes again, in the table's transaction, before verification and COMMIT.
 * A failure (a duplicate key for a unique index) names the index, the table and PostgreSQL's
 * detail; the caller's rollback restores every index and row.
 */
export async function createIndexes(
  target: pg.ClientBase,
  plan: TablePlan,
  dropped: DroppedIndexes,
): Promise<void> {
  const before = await target.query<{ value: string }>(
    `SELECT pg_catalog.current_setting('default_tablespace') AS value`,
  );
  // current_setting returns one row.
  const [{ value: defaultTablespace }] = before.rows as [{ value: string }];
  for (const index of dropped.indexes) {
    try {
      await target.query(createIndexStatements(plan, index).join('; '));
    } catch (error) {
      throw new CopyError(
        pairName(plan),
        `creating index "${index.name}" of ${qualifiedName(plan.targetSchema, plan.targetTable)} again after the load: ${pgMessage(error, plan.redactValues === true)}`,
        { cause: error, sqlstate: sqlstateOf(error) },
      );
    }
  }
  await target.query(`SELECT pg_catalog.set_config('default_tablespace', $1, true)`, [
    defaultTablespace,
  ]);
}
