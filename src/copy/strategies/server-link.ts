import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import type { SslMode } from '../../config/types.js';
import type { ConnectionSpec } from '../../db/connection-spec.js';
import { iamPassword, rdsIamToken, type IamTokenSigner } from '../../db/iam-token.js';
import { quoteIdent, quoteLiteral } from '../../db/quote.js';
import { CopyError } from '../../errors.js';
import { maskKeyOptions } from '../../masking/mask-key.js';
import { CopyInWriter } from '../wire/copy-in-writer.js';

/**
 * What one PostgreSQL server needs to reach another (dblink, postgres_fdw). The password reaches
 * the server only as COPY data (stageSecret), which no logging setting records: never in the text
 * of a statement nor as a bound parameter (PostgreSQL logs those with the statement under
 * log_statement, log_min_duration_statement and their sampling twins), so it is in no
 * `pg_stat_activity.query`, no statement log and no error.
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
  /** The endpoint's application_name (default pgcopy) and connect_timeout in seconds, if set. */
  readonly applicationName: string;
  readonly connectTimeout?: number;
  /** libpq `options` of the session: the source's mask key, for the data rules (dblink). */
  readonly options?: string;
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
    applicationName: spec.applicationName ?? 'pgcopy',
    ...(spec.connectTimeout !== undefined ? { connectTimeout: spec.connectTimeout } : {}),
    ...(spec.maskKey !== undefined ? { options: maskKeyOptions(spec.maskKey) } : {}),
  };
}

/**
 * serverLink, with a new RDS IAM token as the password of an `auth: iam` endpoint: the other server
 * logs in with it as pgcopy does (a token is a password for 15 minutes, for this host and user).
 */
export async function serverLinkOf(
  spec: ConnectionSpec,
  sign: IamTokenSigner = rdsIamToken,
): Promise<ServerLink> {
  const link = serverLink(spec);
  return spec.auth === 'iam' ? { ...link, password: await iamPassword(spec, sign) } : link;
}

/** libpq's quoting of a conninfo value: single quotes, with `\` and `'` escaped by a backslash. */
function conninfoValue(value: string): string {
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

/** A libpq connection string; only ever sent as COPY data (see stageSecret). */
export function conninfo(link: ServerLink): string {
  const pairs: [string, string | undefined][] = [
    ['host', link.host],
    ['port', String(link.port)],
    ['dbname', link.dbname],
    ['user', link.user],
    ['password', link.password],
    ['sslmode', link.sslmode],
    ['application_name', link.applicationName],
    [
      'connect_timeout',
      link.connectTimeout === undefined ? undefined : String(link.connectTimeout),
    ],
    ['options', link.options],
  ];
  return pairs
    .filter((p): p is [string, string] => p[1] !== undefined)
    .map(([k, v]) => `${k}=${conninfoValue(v)}`)
    .join(' ');
}

/** The temporary table a secret waits in for the statement that reads it; gone at COMMIT/ROLLBACK. */
export const SECRET_TABLE = `pg_temp.${quoteIdent('pgcopy_secret')}`;

/** The secret staged by stageSecret, as an SQL expression (a scalar subquery). */
export const STAGED_SECRET = `(SELECT value FROM ${SECRET_TABLE})`;

/** A value as one field of a COPY text row: backslash, tab, newline and carriage return escaped. */
function copyTextField(value: string): string {
  return value
    .replaceAll('\\', '\\\\')
    .replaceAll('\t', '\\t')
    .replaceAll('\n', '\\n')
    .replaceAll('\r', '\\r');
}

/**
 * Puts `secret` (a password, or a connection string holding one) in a temporary table of the
 * caller's transaction, for the next statement to read as STAGED_SECRET. It travels as COPY data:
 * a statement log records `COPY ... FROM STDIN` and never the rows, whatever log_statement,
 * log_min_duration_statement, log_parameter_max_length or pgaudit say. Dropped at the end of the
 * transaction (ON COMMIT DROP), so it is never committed.
 */
export async function stageSecret(client: pg.ClientBase, secret: string): Promise<void> {
  await client.query(
    `CREATE TEMPORARY TABLE IF NOT EXISTS ${SECRET_TABLE} (value text) ON COMMIT DROP`,
  );
  await client.query(`TRUNCATE ${SECRET_TABLE}`);
  const writer = client.query(new CopyInWriter(`COPY ${SECRET_TABLE} (value) FROM STDIN`));
  await pipeline(Readable.from([Buffer.from(`${copyTextField(secret)}\n`)]), writer);
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
 * Options go through format() inside a temporary function; the password is read there from the
 * staged secret (never a statement's text or parameter). The mapping's statement runs nested in
 * the function, which log_statement never logs; a failure there is raised again without its text,
 * so that the error's CONTEXT cannot carry the password into the log.
 */
export async function createForeignServer(
  client: pg.ClientBase,
  link: ServerLink,
  options: Readonly<Record<string, string>>,
): Promise<string> {
  const server = privateName('pgcopy');
  await client.query(`CREATE OR REPLACE FUNCTION pg_temp.pgcopy_foreign_server(
      server text, host text, port text, dbname text, sslmode text, extra text[], login text, has_secret boolean)
    RETURNS void LANGUAGE plpgsql AS $body$
    DECLARE
      more text := '';
    BEGIN
      FOR i IN 1 .. coalesce(array_length(extra, 1), 0) / 2 LOOP
        more := more || pg_catalog.format(', %I %L', extra[2 * i - 1], extra[2 * i]);
      END LOOP;
      EXECUTE pg_catalog.format(
        'CREATE SERVER %I FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host %L, port %L, dbname %L, sslmode %L%s)',
        server, host, port, dbname, sslmode, more);
      IF NOT has_secret THEN
        EXECUTE pg_catalog.format(
          'CREATE USER MAPPING FOR CURRENT_USER SERVER %I OPTIONS (user %L)', server, login);
      ELSE
        BEGIN
          EXECUTE pg_catalog.format(
            'CREATE USER MAPPING FOR CURRENT_USER SERVER %I OPTIONS (user %L, password %L)',
            server, login, (SELECT value FROM pg_temp.pgcopy_secret));
        EXCEPTION WHEN OTHERS THEN
          RAISE EXCEPTION 'could not create the user mapping of foreign server %: %', server, SQLERRM
            USING ERRCODE = SQLSTATE;
        END;
      END IF;
    END
    $body$`);
  if (link.password !== undefined) await stageSecret(client, link.password);
  await client.query(`SELECT pg_temp.pgcopy_foreign_server($1, $2, $3, $4, $5, $6, $7, $8)`, [
    server,
    link.host,
    String(link.port),
    link.dbname,
    link.sslmode,
    Object.entries({ ...linkOptions(link), ...options }).flat(),
    link.user,
    link.password !== undefined,
  ]);
  return server;
}

/** The libpq options of a foreign server besides its address: application_name, connect_timeout. */
function linkOptions(link: ServerLink): Record<string, string> {
  return {
    application_name: link.applicationName,
    ...(link.connectTimeout !== undefined ? { connect_timeout: String(link.connectTimeout) } : {}),
  };
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
  return { server, foreign: await foreignTableOn(client, server, table) };
}

/** A foreign table in pg_temp over `remote`, on a server createForeignServer made. */
export async function foreignTableOn(
  client: pg.ClientBase,
  server: string,
  table: { readonly columns: string; readonly remoteSchema: string; readonly remoteTable: string },
): Promise<string> {
  const foreign = `pg_temp.${quoteIdent(privateName('pgcopy_table'))}`;
  await client.query(
    `CREATE FOREIGN TABLE ${foreign} (${table.columns}) SERVER ${quoteIdent(server)} OPTIONS (schema_name ${quoteLiteral(table.remoteSchema)}, table_name ${quoteLiteral(table.remoteTable)})`,
  );
  return foreign;
}

/** Drops a server made by createForeignServer, with its user mapping and foreign tables. */
export async function dropForeignServer(client: pg.ClientBase, server: string): Promise<void> {
  await client.query(`DROP SERVER ${quoteIdent(server)} CASCADE`);
}
