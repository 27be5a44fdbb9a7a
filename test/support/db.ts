import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import type { ServerInfo, SuiteServers } from './server-info.js';

export function servers(): SuiteServers {
  return inject('servers');
}

/** The suite's PostgreSQL 13 server, which the test setup always starts. */
export function pg13Server(): ServerInfo {
  const server = servers().pg13;
  if (!server) throw new Error('no PostgreSQL 13 server: the test setup starts one');
  return server;
}

export function urlOf(server: ServerInfo, database = 'postgres'): string {
  return `postgres://${server.user}:${server.password}@${server.host}:${server.port}/${database}`;
}

export async function connect(server: ServerInfo): Promise<pg.Client> {
  const client = new pg.Client({
    host: server.host,
    port: server.port,
    user: server.user,
    password: server.password,
    database: 'postgres',
  });
  await client.connect();
  return client;
}

/** A schema name unique to this test (mixed case on purpose: every identifier must be quoted). */
export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

/** Runs SQL in one database of a server with a short-lived client. */
export async function sqlIn(
  server: ServerInfo,
  database: string,
  text: string,
  values?: unknown[],
): Promise<pg.QueryResult> {
  const client = new pg.Client({ ...server, database });
  await client.connect();
  try {
    return await client.query(text, values);
  } finally {
    await client.end();
  }
}

/** Runs SQL on a server with a short-lived client. */
export async function sql(
  server: ServerInfo,
  text: string,
  values?: unknown[],
): Promise<pg.QueryResult> {
  const client = await connect(server);
  try {
    return await client.query(text, values);
  } finally {
    await client.end();
  }
}

/** md5 of the ordered rows of a query, computed by PostgreSQL itself. */
export async function tableDigest(
  server: ServerInfo,
  query: string,
): Promise<{ count: number; md5: string }> {
  const result = await sql(
    server,
    `SELECT count(*)::int AS count, coalesce(md5(string_agg(r::text, E'\\n' ORDER BY r::text)), '') AS md5 FROM (${query}) r`,
  );
  const row = result.rows[0] as { count: number; md5: string };
  return row;
}

/**
 * A pg_stat_activity condition: `column` is pgcopy's COPY whose text starts `COPY ${start}`, alone
 * or after the statements that begin its transaction in the same query string.
 */
export function isCopyQuery(column = 'query', start = ''): string {
  return `(${column} LIKE 'COPY ${start}%' OR ${column} LIKE 'BEGIN%; COPY ${start}%')`;
}
