import type pg from 'pg';
import { WRITTEN_RELATIONS_CTE } from './written-relations.js';

/**
 * The named tables of `schema` whose constraints or column defaults (generated columns included),
 * or their partitions', call a function outside pg_catalog: code of the target's own, which may
 * resolve names through the session's search_path when a load runs it.
 */
const USER_FUNCTIONS_SQL = `
WITH ${WRITTEN_RELATIONS_CTE}
SELECT DISTINCT w.root AS table_name
  FROM written w
  JOIN pg_catalog.pg_depend d
    ON (d.classid = 'pg_catalog.pg_constraint'::pg_catalog.regclass
        AND d.objid IN (SELECT c.oid FROM pg_catalog.pg_constraint c WHERE c.conrelid = w.relid))
    OR (d.classid = 'pg_catalog.pg_attrdef'::pg_catalog.regclass
        AND d.objid IN (SELECT a.oid FROM pg_catalog.pg_attrdef a WHERE a.adrelid = w.relid))
  JOIN pg_catalog.pg_proc p
    ON d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND p.oid = d.refobjid
 WHERE p.pronamespace <> 'pg_catalog'::pg_catalog.regnamespace`;

export async function readTablesCallingUserFunctions(
  client: pg.ClientBase,
  schema: string,
  names: readonly string[],
): Promise<Set<string>> {
  const { rows } = await client.query<{ table_name: string }>(USER_FUNCTIONS_SQL, [schema, names]);
  return new Set(rows.map((r) => r.table_name));
}
