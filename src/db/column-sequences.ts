import type pg from 'pg';
import { WRITTEN_RELATIONS_CTE } from './written-relations.js';

/** A sequence that a column's default draws from, whether or not the column owns it. */
export interface ColumnSequence {
  readonly column: string;
  readonly schema: string;
  readonly name: string;
  /** The column holds integers (or numeric): its maximum says how far to move the sequence. */
  readonly numeric: boolean;
  /** A negative increment: the sequence counts down, and moves below the column's minimum. */
  readonly descending: boolean;
}

/**
 * The sequences behind each column of the named tables: owned by the column (serial,
 * identity) or called by its default (`DEFAULT nextval('some_seq')` on a sequence created on its
 * own), found through the catalog's dependencies rather than by parsing the default's text. The
 * defaults of the table's partitions count too: an application may insert into a partition.
 */
const COLUMN_SEQUENCES_SQL = `
WITH ${WRITTEN_RELATIONS_CTE},
uses AS (
  SELECT d.refobjid AS attrelid, d.refobjsubid AS attnum, d.objid AS seqid
    FROM pg_catalog.pg_depend d
   WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
     AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
     AND d.deptype IN ('a', 'i') AND d.refobjsubid > 0
     AND d.refobjid IN (SELECT relid FROM written)
  UNION
  SELECT ad.adrelid, ad.adnum, d.refobjid
    FROM pg_catalog.pg_attrdef ad
    JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_attrdef'::pg_catalog.regclass
     AND d.objid = ad.oid AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
   WHERE ad.adrelid IN (SELECT relid FROM written)
)
SELECT DISTINCT w.root AS table_name, a.attname AS column, sn.nspname AS schema, s.relname AS name,
       coalesce(nullif(t.typbasetype, 0::pg_catalog.oid), t.oid) IN (
         'pg_catalog.int2'::pg_catalog.regtype, 'pg_catalog.int4'::pg_catalog.regtype,
         'pg_catalog.int8'::pg_catalog.regtype, 'pg_catalog.numeric'::pg_catalog.regtype) AS numeric,
       ps.seqincrement < 0 AS descending
  FROM uses u
  JOIN written w ON w.relid = u.attrelid
  JOIN pg_catalog.pg_attribute a ON a.attrelid = u.attrelid AND a.attnum = u.attnum AND NOT a.attisdropped
  JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
  JOIN pg_catalog.pg_class s ON s.oid = u.seqid AND s.relkind = 'S'
  JOIN pg_catalog.pg_sequence ps ON ps.seqrelid = s.oid
  JOIN pg_catalog.pg_namespace sn ON sn.oid = s.relnamespace
 ORDER BY 1, 3, 4, 2`;

interface ColumnSequenceRow extends ColumnSequence {
  table_name: string;
}

/** The sequences behind the columns of each named table of `schema`, by table name. */
export async function readColumnSequences(
  client: pg.ClientBase,
  schema: string,
  names: readonly string[],
): Promise<Map<string, ColumnSequence[]>> {
  const { rows } = await client.query<ColumnSequenceRow>(COLUMN_SEQUENCES_SQL, [schema, names]);
  const byTable = new Map<string, ColumnSequence[]>();
  for (const { table_name, column, schema: seqSchema, name, numeric, descending } of rows) {
    const list = byTable.get(table_name) ?? [];
    list.push({ column, schema: seqSchema, name, numeric, descending });
    byTable.set(table_name, list);
  }
  return byTable;
}
