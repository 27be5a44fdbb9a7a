import type pg from 'pg';

/** A per-column statistics target of an index (set on expression columns: ALTER INDEX ... SET STATISTICS). */
export interface IndexColumnStatistics {
  readonly column: number;
  readonly target: number;
}

/** A secondary index that can be dropped for a load and created again exactly as it was. */
export interface RebuildableIndex {
  readonly name: string;
  /**
   * pg_get_indexdef: method, columns, opclasses, collations, INCLUDE, WITH, WHERE, NULLS NOT
   * DISTINCT, with every identifier quoted by the server. What it leaves out is kept beside it.
   */
  readonly definition: string;
  /** The index's tablespace; null: the database's default. */
  readonly tablespace: string | null;
  /** CLUSTER ON this index. */
  readonly clustered: boolean;
  readonly statistics: readonly IndexColumnStatistics[];
  readonly comment: string | null;
}

/** A target table's indexes as the rebuild sees them. */
export interface TableIndexes {
  /** The role may drop the table's indexes (it owns the table, or is a member of its owner). */
  readonly owned: boolean;
  /** The role may create indexes in the table's schema (CREATE on it). */
  readonly creatable: boolean;
  /** Indexes to drop and create again, by name. */
  readonly rebuildable: readonly RebuildableIndex[];
  /** Indexes kept as they are: they back a constraint, the replica identity, a partitioned index... */
  readonly kept: readonly string[];
}

/**
 * Every index of the named tables, and whether it can be dropped and created again exactly. It
 * cannot when it is not valid and ready, backs a constraint (primary key, unique, exclusion, or a
 * unique index a foreign key of any table references: conindid), is the replica identity, is part
 * of a partitioned index (the table's own index, or a partition's attached to a parent's), belongs
 * to an extension, anything else depends on it, or it lives in a tablespace the role may not create
 * in.
 */
const TABLE_INDEXES_SQL = `
SELECT t.relname AS table_name, pg_catalog.pg_has_role(t.relowner, 'USAGE') AS owned,
       pg_catalog.has_schema_privilege(n.oid, 'CREATE') AS creatable,
       i.relname AS name, pg_catalog.pg_get_indexdef(i.oid) AS definition,
       s.spcname AS tablespace, x.indisclustered AS clustered,
       pg_catalog.obj_description(i.oid, 'pg_class') AS comment,
       coalesce((SELECT json_agg(json_build_object('column', a.attnum, 'target', a.attstattarget)
                                 ORDER BY a.attnum)
                 FROM pg_catalog.pg_attribute a
                 WHERE a.attrelid = i.oid AND a.attnum > 0 AND a.attstattarget >= 0), '[]') AS statistics,
       (x.indisvalid AND x.indisready AND x.indislive AND NOT x.indisreplident
        AND t.relkind = 'r' AND i.relkind = 'i'
        -- Created again in its tablespace: the role must be allowed to (the default needs nothing).
        AND (i.reltablespace = 0 OR pg_catalog.has_tablespace_privilege(i.reltablespace, 'CREATE'))
        AND NOT EXISTS (SELECT FROM pg_catalog.pg_constraint c WHERE c.conindid = i.oid)
        AND NOT EXISTS (SELECT FROM pg_catalog.pg_inherits h WHERE h.inhrelid = i.oid)
        AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d
                        WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = i.oid
                          AND d.deptype = 'e')
        AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d
                        WHERE d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid = i.oid)
       ) AS rebuildable
FROM pg_catalog.pg_class t
JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace
JOIN pg_catalog.pg_index x ON x.indrelid = t.oid
JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid
LEFT JOIN pg_catalog.pg_tablespace s ON s.oid = i.reltablespace
WHERE n.nspname = $1 AND t.relname = ANY($2::text[])
ORDER BY t.relname, i.relname`;

interface IndexRow {
  table_name: string;
  owned: boolean;
  creatable: boolean;
  name: string;
  definition: string;
  tablespace: string | null;
  clustered: boolean;
  comment: string | null;
  statistics: IndexColumnStatistics[];
  rebuildable: boolean;
}

/** The indexes of the named tables of `schema`, by table (a table without indexes is absent). */
export async function readTableIndexes(
  client: pg.ClientBase,
  schema: string,
  tables: readonly string[],
): Promise<Map<string, TableIndexes>> {
  const result = await client.query<IndexRow>(TABLE_INDEXES_SQL, [schema, tables]);
  const byTable = new Map<
    string,
    { owned: boolean; creatable: boolean; rebuildable: RebuildableIndex[]; kept: string[] }
  >();
  for (const row of result.rows) {
    const entry = byTable.get(row.table_name) ?? {
      owned: row.owned,
      creatable: row.creatable,
      rebuildable: [],
      kept: [],
    };
    byTable.set(row.table_name, entry);
    if (!row.rebuildable) {
      entry.kept.push(row.name);
      continue;
    }
    entry.rebuildable.push({
      name: row.name,
      definition: row.definition,
      tablespace: row.tablespace,
      clustered: row.clustered,
      statistics: row.statistics,
      comment: row.comment,
    });
  }
  return byTable;
}

/** Why the role may not drop and create the table's indexes, or undefined when it may. */
export function rebuildRefusedFor(indexes: TableIndexes): string | undefined {
  if (!indexes.owned) return 'the role does not own the target table';
  if (!indexes.creatable) {
    return 'the role may not create indexes in the target schema (no CREATE on it)';
  }
  return undefined;
}
