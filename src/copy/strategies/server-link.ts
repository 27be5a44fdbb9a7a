import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { SslMode } from '../../config/types.js';
import type { ConnectionSpec } from '../../db/connection-spec.js';
import { quoteIdent, quoteLiteral } from '../../db/quote.js';
import { CopyError } from '../../errors.js';

/**
 * What one PostgreSQL server needs to reach another (dblink, postgres_fdw). The password travels
 * only as a bound parameter or inside a function's EXECUTE: never in the text of a statement, so
 * it is in no `pg_stat_activity.query`, no statement log and no error.
 */

export type ServerExtension = 'dblink' | 'postgres_fdw';

/** The address, database and login by which the other server reaches this endpoint. */
export interface ServerLink {
  readonly host: string;
  readonly port: number;
  readonly dbname: string;
  readonly user: string;
  readonly password: string | undefined;
  readonly sslmode: SslMode;
}

/** A server cannot use pgcopy's CA file: verify-* becomes require (encrypted, not verified). */
function serverSslmode(sslmode: SslMode): SslMode {
  return sslmode === 'verify-ca' || sslmode === 'verify-full' ? 'require' : sslmode;
}

export function serverLink(spec: ConnectionSpec): ServerLink {
  const address = spec.serverAddress;
  return {
    host: address?.host ?? spec.host,
    port: address?.port ?? spec.port,
    dbname: spec.database,
    user: spec.user,
    password: spec.password,
    sslmode: address?.sslmode ?? serverSslmode(spec.sslmode),
  };
}

/** libpq's quoting of a conninfo value: single quotes, with `\` and `'` escaped by a backslash. */
function conninfoValue(value: string): string {
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

/** A libpq connection string; only ever sent as a bound parameter. */
export function conninfo(link: ServerLink): string {
  const pairs: [string, string | undefined][] = [
    ['host', link.host],
    ['port', String(link.port)],
    ['dbname', link.dbname],
    ['user', link.user],
    ['password', link.password],
    ['sslmode', link.sslmode],
    ['application_name', 'pgcopy'],
  ];
  return pairs
    .filter((p): p is [string, string] => p[1] !== undefined)
    .map(([k, v]) => `${k}=${conninfoValue(v)}`)
    .join(' ');
}

/** The schema an extension's functions live in, to call them whatever the search_path. */
export async function extensionSchema(
  client: pg.ClientBase,
  extension: ServerExtension,
  where: string,
): Promise<string> {
  const result = await client.query<{ schema: string }>(
    `SELECT n.nspname AS schema FROM pg_catalog.pg_extension e
       JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = $1`,
    [extension],
  );
  const schema = result.rows[0]?.schema;
  if (schema === undefined) {
    throw new CopyError(where, `the ${extension} extension is not installed`);
  }
  return schema;
}

/** A name no other run or table uses, for the server objects of one table's load. */
function privateName(prefix: string): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

/**
 * Creates, in the caller's transaction, a postgres_fdw server for `link` and the current user's
 * mapping to it. The caller drops the server (CASCADE) before its transaction ends, so neither is
 * ever committed: nothing of them, the password least of all, outlives the table's transaction.
 * Options go through format() inside a temporary function, the password as its argument.
 */
export async function createForeignServer(
  client: pg.ClientBase,
  link: ServerLink,
  options: Readonly<Record<string, string>>,
): Promise<string> {
  const server = privateName('pgcopy');
  await client.query(`CREATE OR REPLACE FUNCTION pg_temp.pgcopy_foreign_server(
      server text, host text, port text, dbname text, sslmode text, extra text[], login text, secret text)
    RETURNS void LANGUAGE plpgsql AS $body$
    DECLARE
      more text := '';
    BEGIN
      FOR i IN 1 .. coalesce(array_length(extra, 1), 0) / 2 LOOP
        more := more || pg_catalog.format(', %I %L', extra[2 * i - 1], extra[2 * i]);
      END LOOP;
      EXECUTE pg_catalog.format(
        'CREATE SERVER %I FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host %L, port %L, dbname %L, sslmode %L, application_name %L%s)',
        server, host, port, dbname, sslmode, 'pgcopy', more);
      IF secret IS NULL THEN
        EXECUTE pg_catalog.format(
          'CREATE USER MAPPING FOR CURRENT_USER SERVER %I OPTIONS (user %L)', server, login);
      ELSE
        EXECUTE pg_catalog.format(
          'CREATE USER MAPPING FOR CURRENT_USER SERVER %I OPTIONS (user %L, password %L)',
          server, login, secret);
      END IF;
    END
    $body$`);
  await client.query(`SELECT pg_temp.pgcopy_foreign_server($1, $2, $3, $4, $5, $6, $7, $8)`, [
    server,
    link.host,
    String(link.port),
    link.dbname,
    link.sslmode,
    Object.entries(options).flat(),
    link.user,
    link.password ?? null,
  ]);
  return server;
}

/**
 * A foreign server for `link` and a foreign table in pg_temp over `remote` with the given column
 * definitions, in the caller's transaction (see createForeignServer). Returns both names.
 */
export async function createForeignTable(
  client: pg.ClientBase,
  link: ServerLink,
  options: Readonly<Record<string, string>>,
  table: { readonly columns: string; readonly remoteSchema: string; readonly remoteTable: string },
): Promise<{ server: string; foreign: string }> {
  const server = await createForeignServer(client, link, options);
  const foreign = `pg_temp.${quoteIdent(privateName('pgcopy_table'))}`;
  await client.query(
    `CREATE FOREIGN TABLE ${foreign} (${table.columns}) SERVER ${quoteIdent(server)} OPTIONS (schema_name ${quoteLiteral(table.remoteSchema)}, table_name ${quoteLiteral(table.remoteTable)})`,
  );
  return { server, foreign };
}

/** Drops a server made by createForeignServer, with its user mapping and foreign tables. */
export async function dropForeignServer(client: pg.ClientBase, server: string): Promise<void> {
  await client.query(`DROP SERVER ${quoteIdent(server)} CASCADE`);
}
