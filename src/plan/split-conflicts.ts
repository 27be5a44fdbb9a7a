import type pg from 'pg';
import type { UniqueKey } from '../db/catalog.js';
import type { TablePlan } from './types.js';

/**
 * A target index that makes one row wait for another transaction's uncommitted row: a unique
 * index (its columns), or a partial, expression or exclusion one (columns null: what conflicts
 * cannot be told from the catalog).
 */
export interface ConflictIndex {
  readonly name: string;
  readonly columns: readonly string[] | null;
  /** A foreign key of the table to itself: a row's parent may be another part's, not yet committed. */
  readonly selfReference?: boolean;
}

const CONFLICT_INDEXES_SQL = `
SELECT c.relname AS table_name, ic.relname AS index_name, false AS self_reference,
       CASE WHEN i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL
            THEN array(SELECT a.attname FROM unnest(i.indkey) k(attnum)
                       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum)::text[]
       END AS columns
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = ANY($2::text[])
  AND (i.indisunique OR EXISTS (SELECT FROM pg_constraint x WHERE x.conindid = i.indexrelid AND x.contype = 'x'))
UNION ALL
SELECT c.relname, f.conname, true, NULL
FROM pg_constraint f
JOIN pg_class c ON c.oid = f.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = ANY($2::text[]) AND f.contype = 'f' AND f.confrelid = f.conrelid
ORDER BY 1, 2`;

/** The conflict indexes of the named target tables, by table. */
export async function readConflictIndexes(
  client: pg.ClientBase,
  schema: string,
  tables: readonly string[],
): Promise<Map<string, ConflictIndex[]>> {
  const result = await client.query<{
    table_name: string;
    index_name: string;
    columns: string[] | null;
    self_reference: boolean;
  }>(CONFLICT_INDEXES_SQL, [schema, tables]);
  const byTable = new Map<string, ConflictIndex[]>();
  for (const row of result.rows) {
    const list = byTable.get(row.table_name) ?? [];
    list.push({ name: row.index_name, columns: row.columns, selfReference: row.self_reference });
    byTable.set(row.table_name, list);
  }
  return byTable;
}

/**
 * Why parts of this table could wait on each other, or undefined. A row that conflicts with a row
 * another part has written but not committed waits for that part's transaction to end, which only
 * ends once every part has loaded: the parts would wait for each other for ever. That cannot
 * happen where each of the target's conflict indexes is a unique key the source has too, on
 * columns of the same types (the snapshot's rows are then distinct on it), nor where no target
 * trigger writes anywhere else.
 */
export function partsMayWait(
  table: TablePlan,
  target: readonly ConflictIndex[],
  sourceKeys: readonly UniqueKey[],
): string | undefined {
  if ((table.triggers ?? []).length > 0) {
    return "the target's triggers fire during the load: parts could wait on each other's rows";
  }
  const sameType = (column: string): boolean => {
    const pair = table.pairs.find((p) => p.name === column);
    return pair !== undefined && pair.sourceType === pair.targetType;
  };
  const unique = (columns: readonly string[]): boolean =>
    columns.every(sameType) &&
    sourceKeys.some(
      (k) => k.columns.length === columns.length && k.columns.every((c) => columns.includes(c)),
    );
  // With triggers off (session_replication_role = replica), foreign keys are not checked.
  const checked = target.filter((index) => !(index.selfReference && table.disableTriggers));
  const risky = checked.find((index) => index.columns === null || !unique(index.columns));
  return risky === undefined
    ? undefined
    : risky.selfReference
      ? `the target's foreign key ${risky.name} references its own table: a row's parent may be in another part, not yet committed`
      : `the target's index ${risky.name} is not a unique key of the source with the same types: rows of two parts could wait on each other`;
}
