/**
 * Common table expressions over the named tables of one schema ($1 the schema, $2 the table names):
 * `written` has one row per relation that loading a named table writes rows into, with the named
 * table as `root`: the table itself and, when it is partitioned, its partitions at any depth (COPY
 * into a partitioned table routes every row to a leaf). A plain table's inheritance children are
 * not among them: pgcopy reads and writes a plain table's own rows only.
 */
export const WRITTEN_RELATIONS_CTE = `
named AS (
  SELECT c.oid, c.relname
    FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = $1 AND c.relname = ANY($2::text[]) AND c.relkind IN ('r', 'p')
),
written AS (
  SELECT w.root, w.root_oid, w.relid, r.relname, r.relkind::text AS relkind
    FROM (SELECT named.relname AS root, named.oid AS root_oid, named.oid AS relid FROM named
          UNION
          SELECT named.relname, named.oid, t.relid
            FROM named CROSS JOIN LATERAL pg_catalog.pg_partition_tree(named.oid) t) w
    JOIN pg_catalog.pg_class r ON r.oid = w.relid
)`;
