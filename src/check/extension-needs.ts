import type pg from 'pg';
import type { EndpointNeeds } from './needs.js';

interface ExtensionRow {
  name: string;
  installed: boolean;
  available: boolean;
  superuser: boolean;
  fdw_usage: boolean | null;
  dblink_execute: boolean | null;
  temporary: boolean;
}

/**
 * What the server-side strategies need on this endpoint's server: the extension (installed, or
 * creatable by this role when options.createExtensions asks for it), USAGE on postgres_fdw to make
 * a foreign server, EXECUTE on dblink(text, text) (the form the dblink strategy calls; its other
 * overloads may be granted apart), and TEMPORARY for the pg_temp objects. In the order asked.
 */
export async function missingExtensionNeeds(
  client: pg.ClientBase,
  needs: EndpointNeeds,
): Promise<string[]> {
  const wanted = needs.extensions ?? [];
  if (wanted.length === 0) return [];
  const rows = await client.query<ExtensionRow>(
    `SELECT w.name,
            e.oid IS NOT NULL AS installed,
            a.name IS NOT NULL AS available,
            (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) AS superuser,
            (SELECT pg_catalog.has_foreign_data_wrapper_privilege(f.oid, 'USAGE')
               FROM pg_catalog.pg_foreign_data_wrapper f WHERE f.fdwname = 'postgres_fdw') AS fdw_usage,
            (SELECT pg_catalog.has_function_privilege(p.oid, 'EXECUTE')
               FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_depend d ON d.objid = p.oid
              WHERE d.refobjid = e.oid AND p.proname = 'dblink'
                AND p.proargtypes = '25 25'::pg_catalog.oidvector) AS dblink_execute,
            pg_catalog.has_database_privilege(current_database(), 'TEMPORARY') AS temporary
       FROM unnest($1::text[]) WITH ORDINALITY AS w(name, ord)
       LEFT JOIN pg_catalog.pg_extension e ON e.extname = w.name
       LEFT JOIN pg_catalog.pg_available_extensions a ON a.name = w.name
      ORDER BY w.ord`,
    [wanted],
  );
  const missing: string[] = [];
  for (const row of rows.rows) {
    if (!row.installed) {
      if (!row.available) missing.push(`extension ${row.name} (not available on this server)`);
      else if (!needs.createExtensions) {
        missing.push(`extension ${row.name} (a superuser runs CREATE EXTENSION ${row.name};)`);
      } else if (!row.superuser) {
        missing.push(`extension ${row.name} (options.createExtensions needs a superuser here)`);
      }
      continue;
    }
    if (row.name === 'postgres_fdw' && row.fdw_usage === false) {
      missing.push('USAGE on foreign data wrapper postgres_fdw');
    }
    if (row.name === 'dblink' && row.dblink_execute === false) missing.push('EXECUTE on dblink()');
    if (row.name === 'postgres_fdw' && !row.temporary) {
      missing.push('TEMPORARY on the database (postgres_fdw tables live in pg_temp)');
    }
  }
  return missing;
}
