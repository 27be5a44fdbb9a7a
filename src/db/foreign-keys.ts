import type pg from 'pg';
import { WRITTEN_RELATIONS_CTE } from './written-relations.js';

/** A table another one points at with a foreign key. */
export interface TableRef {
  readonly schema: string;
  readonly table: string;
  /** Every foreign key between the two is DEFERRABLE: its checks may wait for the COMMIT. */
  readonly deferrable?: true;
}

export interface ForeignKeyLinks {
  /** Tables this one's foreign keys reference (itself excluded). */
  readonly references: TableRef[];
  /** Tables whose foreign keys reference this one (itself excluded): TRUNCATE is refused then. */
  readonly referencedBy: TableRef[];
}

/**
 * Foreign keys with either end among the rows a named table's load writes: those declared on the
 * table, on its partitions at any depth (older schemas and pg_dump output declare them there) and
 * those a partition inherits from its parent. Each end is named by the table of the run whose load
 * writes it, else by the top of its own partition tree; links within one tree are dropped.
 */
const FOREIGN_KEYS_SQL = `
WITH ${WRITTEN_RELATIONS_CTE},
links AS (
  SELECT k.conrelid, k.confrelid, k.condeferrable
    FROM pg_catalog.pg_constraint k
   WHERE k.contype = 'f'
     AND (k.conrelid IN (SELECT relid FROM written) OR k.confrelid IN (SELECT relid FROM written))
),
ends AS (
  SELECT DISTINCT e.relid, coalesce(w.root_oid, pg_catalog.pg_partition_root(e.relid), e.relid) AS table_oid
    FROM (SELECT conrelid AS relid FROM links UNION SELECT confrelid FROM links) e
    LEFT JOIN written w ON w.relid = e.relid
)
SELECT cn.nspname AS child_schema, c.relname AS child_table,
       pn.nspname AS parent_schema, p.relname AS parent_table,
       bool_and(links.condeferrable) AS deferrable
  FROM links
  JOIN ends ce ON ce.relid = links.conrelid
  JOIN ends pe ON pe.relid = links.confrelid
  JOIN pg_catalog.pg_class c ON c.oid = ce.table_oid
  JOIN pg_catalog.pg_namespace cn ON cn.oid = c.relnamespace
  JOIN pg_catalog.pg_class p ON p.oid = pe.table_oid
  JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace
 WHERE ce.table_oid <> pe.table_oid
 GROUP BY 1, 2, 3, 4
 ORDER BY 1, 2, 3, 4`;

interface ForeignKeyRow {
  child_schema: string;
  child_table: string;
  parent_schema: string;
  parent_table: string;
  deferrable: boolean;
}

/** The foreign-key links of each named table of `schema`, by table name. */
export async function readForeignKeys(
  client: pg.ClientBase,
  schema: string,
  names: readonly string[],
): Promise<Map<string, ForeignKeyLinks>> {
  const { rows } = await client.query<ForeignKeyRow>(FOREIGN_KEYS_SQL, [schema, names]);
  const links = new Map<string, ForeignKeyLinks>();
  const of = (table: string): ForeignKeyLinks => {
    let found = links.get(table);
    if (!found) {
      found = { references: [], referencedBy: [] };
      links.set(table, found);
    }
    return found;
  };
  for (const fk of rows) {
    const deferrable = fk.deferrable ? { deferrable: true as const } : {};
    const child = { schema: fk.child_schema, table: fk.child_table, ...deferrable };
    const parent = { schema: fk.parent_schema, table: fk.parent_table, ...deferrable };
    if (child.schema === schema) of(child.table).references.push(parent);
    if (parent.schema === schema) of(parent.table).referencedBy.push(child);
  }
  return links;
}
