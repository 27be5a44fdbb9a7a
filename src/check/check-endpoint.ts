import type pg from 'pg';
import { describeSpec } from '../db/connection-spec.js';
import type { Connector } from '../db/connector.js';
import { describeError } from '../errors.js';
import type { EndpointNeeds, Privilege } from './needs.js';
import { runBlockers } from './run-blockers.js';

/** Connects to one endpoint and measures what `pgcopy check` reports about it. */

export interface Reached {
  readonly name: string;
  readonly description: string;
  readonly version: string;
  /** `on (TLSv1.3)` or `off`. */
  readonly tls: string;
  readonly latencyMs: number;
  readonly connectMs: number;
  /** `SELECT on app.orders`, `table app.x does not exist`, ... */
  readonly missing: readonly string[];
  readonly checked: number;
}

export interface Unreachable {
  readonly name: string;
  readonly description: string;
  readonly error: string;
}

export type EndpointReport = Reached | Unreachable;

interface TableRow {
  name: string;
  exists: boolean;
  select: boolean;
  insert: boolean;
  update: boolean;
  truncate: boolean;
}

async function missingPrivileges(client: pg.ClientBase, needs: EndpointNeeds): Promise<string[]> {
  const missing: string[] = [];
  const schema = await client.query<{ usage: boolean }>(
    `SELECT has_schema_privilege(oid, 'USAGE') AS usage FROM pg_catalog.pg_namespace WHERE nspname = $1`,
    [needs.schema],
  );
  const usage = schema.rows[0]?.usage;
  if (usage === undefined) return [`schema ${needs.schema} does not exist`];
  if (!usage) missing.push(`USAGE on schema ${needs.schema}`);
  const rows = await client.query<TableRow>(
    `SELECT t.name, c.oid IS NOT NULL AS exists,
            coalesce(has_table_privilege(c.oid, 'SELECT'), false) AS select,
            coalesce(has_table_privilege(c.oid, 'INSERT'), false) AS insert,
            coalesce(has_table_privilege(c.oid, 'UPDATE'), false) AS update,
            coalesce(has_table_privilege(c.oid, 'TRUNCATE'), false) AS truncate
       FROM unnest($2::text[]) AS t(name)
       LEFT JOIN pg_catalog.pg_namespace n ON n.nspname = $1
       LEFT JOIN pg_catalog.pg_class c
         ON c.relnamespace = n.oid AND c.relname = t.name AND c.relkind IN ('r', 'p', 'v', 'm', 'f')`,
    [needs.schema, needs.tables.map((t) => t.table)],
  );
  const byName = new Map(rows.rows.map((r) => [r.name, r]));
  for (const { table, privileges } of needs.tables) {
    const row = byName.get(table);
    const name = `${needs.schema}.${table}`;
    if (!row?.exists) {
      missing.push(`table ${name} does not exist`);
      continue;
    }
    const lacking = privileges.filter((p) => !row[p.toLowerCase() as Lowercase<Privilege>]);
    if (lacking.length > 0) missing.push(`${lacking.join(', ')} on ${name}`);
  }
  if (needs.sequences) missing.push(...(await missingSequencePrivileges(client, needs)));
  missing.push(...(await runBlockers(client, needs)));
  if (needs.temporary) {
    const temp = await client.query<{ ok: boolean }>(
      `SELECT has_database_privilege(current_database(), 'TEMPORARY') AS ok`,
    );
    if (!(temp.rows as [{ ok: boolean }])[0].ok)
      missing.push('TEMPORARY on the database (upsert stages rows)');
  }
  return missing;
}

interface SequenceRow {
  table: string;
  sequence: string;
  table_select: boolean;
  sequence_select: boolean;
  sequence_update: boolean;
}

/**
 * After loading, the run reads the table's maximum and sets each owned sequence past it: that
 * needs SELECT on the table and SELECT and UPDATE on the sequence.
 */
async function missingSequencePrivileges(
  client: pg.ClientBase,
  needs: EndpointNeeds,
): Promise<string[]> {
  const rows = await client.query<SequenceRow>(
    `SELECT t.relname AS table, s.relname AS sequence,
            has_table_privilege(t.oid, 'SELECT') AS table_select,
            has_sequence_privilege(s.oid, 'SELECT') AS sequence_select,
            has_sequence_privilege(s.oid, 'UPDATE') AS sequence_update
       FROM pg_catalog.pg_class t
       JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace
       JOIN pg_catalog.pg_depend d ON d.refobjid = t.oid AND d.deptype IN ('a', 'i')
        AND d.classid = 'pg_catalog.pg_class'::regclass AND d.refclassid = 'pg_catalog.pg_class'::regclass
       JOIN pg_catalog.pg_class s ON s.oid = d.objid AND s.relkind = 'S'
      WHERE n.nspname = $1 AND t.relname = ANY($2::text[])
      ORDER BY t.relname, s.relname`,
    [needs.schema, needs.tables.map((t) => t.table)],
  );
  const missing = new Set<string>();
  for (const row of rows.rows) {
    if (!row.table_select) {
      missing.add(`SELECT on ${needs.schema}.${row.table} (to advance its sequences)`);
    }
    const lacking = [row.sequence_select ? '' : 'SELECT', row.sequence_update ? '' : 'UPDATE'];
    if (lacking.some(Boolean)) {
      missing.add(
        `${lacking.filter(Boolean).join(', ')} on sequence ${needs.schema}.${row.sequence}`,
      );
    }
  }
  return [...missing];
}

/** The best of a few `SELECT 1` round trips, in milliseconds. */
async function roundTripMs(client: pg.ClientBase, samples = 5): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < samples; i++) {
    const started = process.hrtime.bigint();
    await client.query('SELECT 1');
    best = Math.min(best, Number(process.hrtime.bigint() - started) / 1e6);
  }
  return best;
}

interface ServerInfoRow {
  version: string;
  ssl: boolean;
  tls: string | null;
}

export async function checkEndpoint(
  connector: Connector,
  needs: EndpointNeeds,
  signal: AbortSignal | undefined,
): Promise<EndpointReport> {
  const base = { name: connector.spec.name, description: describeSpec(connector.spec) };
  let client: pg.Client | undefined;
  try {
    const started = Date.now();
    client = await connector.connect(signal ? { signal } : {});
    const connectMs = Date.now() - started;
    const info = await client.query<ServerInfoRow>(
      `SELECT current_setting('server_version') AS version, s.ssl, s.version AS tls
         FROM pg_catalog.pg_stat_ssl s WHERE s.pid = pg_backend_pid()`,
    );
    const [row] = info.rows as [ServerInfoRow];
    return {
      ...base,
      version: row.version,
      tls: row.ssl ? `on (${String(row.tls)})` : 'off',
      latencyMs: await roundTripMs(client),
      connectMs,
      missing: await missingPrivileges(client, needs),
      checked: needs.tables.length,
    };
  } catch (error) {
    return { ...base, error: describeError(error) };
  } finally {
    await client?.end().catch(() => undefined);
  }
}
