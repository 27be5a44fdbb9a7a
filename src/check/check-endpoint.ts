import type pg from 'pg';
import { readColumnSequences } from '../db/column-sequences.js';
import { describeSpec } from '../db/connection-spec.js';
import type { Connector } from '../db/connector.js';
import { mayDisableTriggers } from '../db/may-disable-triggers.js';
import { dependsOnSessionPath, readTriggers, type TriggerEvent } from '../db/triggers.js';
import { describeError } from '../errors.js';
import { missingExtensionNeeds } from './extension-needs.js';
import type { EndpointNeeds, Privilege } from './needs.js';
import { runBlockers } from './run-blockers.js';
import { preparedReport, type PreparedReport } from './prepared-report.js';

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
  /** The tables checked (a pattern's matches included). */
  readonly tables: readonly string[];
  /** Targets: whether the role may load with triggers off (session_replication_role). */
  readonly mayDisableTriggers?: boolean;
  /**
   * Targets: trigger functions that fire on the load and have no search_path of their own, as
   * `function() (trigger "name" on table)`: they resolve names through the session's (pgcopy
   * loads under the target's configured one; fdw-push under postgres_fdw's pg_catalog).
   */
  readonly sessionPathTriggers?: readonly string[];
  /** Targets: the database's prepared transactions, and those locking the checked tables. */
  readonly prepared?: PreparedReport;
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
      missing.push('TEMPORARY on the database (upsert and insert-new stage rows)');
  }
  return missing;
}

interface SequenceRow {
  table: string;
  schema: string;
  sequence: string;
  table_select: boolean;
  sequence_select: boolean;
  sequence_update: boolean;
}

/**
 * After loading, the run reads the table's maximum and sets each sequence behind its columns (owned,
 * or called from a default, its partitions' included) past it: that needs SELECT on the table and
 * SELECT and UPDATE on the sequence.
 */
async function missingSequencePrivileges(
  client: pg.ClientBase,
  needs: EndpointNeeds,
): Promise<string[]> {
  const tables = needs.tables.map((t) => t.table);
  const byTable = await readColumnSequences(client, needs.schema, tables);
  const uses = [...byTable].flatMap(([table, sequences]) =>
    sequences.filter((q) => q.numeric).map((q) => [table, q.schema, q.name] as const),
  );
  const rows = await client.query<SequenceRow>(
    `SELECT u.table, u.schema, u.sequence,
            pg_catalog.has_table_privilege(pg_catalog.format('%I.%I', $1::text, u.table), 'SELECT') AS table_select,
            pg_catalog.has_sequence_privilege(pg_catalog.format('%I.%I', u.schema, u.sequence), 'SELECT') AS sequence_select,
            pg_catalog.has_sequence_privilege(pg_catalog.format('%I.%I', u.schema, u.sequence), 'UPDATE') AS sequence_update
       FROM unnest($2::text[], $3::text[], $4::text[]) AS u("table", schema, sequence)
      ORDER BY 1, 2, 3`,
    [needs.schema, uses.map((u) => u[0]), uses.map((u) => u[1]), uses.map((u) => u[2])],
  );
  const missing = new Set<string>();
  for (const row of rows.rows) {
    if (!row.table_select) {
      missing.add(`SELECT on ${needs.schema}.${row.table} (to advance its sequences)`);
    }
    const lacking = [row.sequence_select ? '' : 'SELECT', row.sequence_update ? '' : 'UPDATE'];
    if (lacking.some(Boolean)) {
      missing.add(
        `${lacking.filter(Boolean).join(', ')} on sequence ${row.schema}.${row.sequence}`,
      );
    }
  }
  return [...missing];
}

/** Targets: whether the role may load with triggers off, missing when the config asks for it. */
async function triggerReport(
  client: pg.ClientBase,
  needs: EndpointNeeds,
): Promise<{ may: boolean | undefined; missing: string[] }> {
  if (needs.disableTriggers === undefined) return { may: undefined, missing: [] };
  const may = await mayDisableTriggers(client);
  const missing =
    needs.disableTriggers && !may
      ? ['SET on parameter session_replication_role (disableTriggers; or be superuser)']
      : [];
  return { may, missing };
}

/** The statements a table's load runs, by the privileges its mode needs (INSERT always). */
function loadEvents(privileges: readonly Privilege[]): TriggerEvent[] {
  return [
    'INSERT',
    ...(privileges.includes('UPDATE') ? (['UPDATE'] as const) : []),
    ...(privileges.includes('TRUNCATE') ? (['TRUNCATE'] as const) : []),
  ];
}

/** Trigger functions the load fires that resolve names through the session's search_path. */
async function sessionPathTriggers(client: pg.ClientBase, needs: EndpointNeeds): Promise<string[]> {
  const byTable = await readTriggers(
    client,
    needs.schema,
    needs.tables.map((t) => t.table),
  );
  const found = new Set<string>();
  for (const { table, privileges } of needs.tables) {
    const events = loadEvents(privileges);
    for (const t of byTable.get(table) ?? []) {
      const fires = t.enabled !== 'D' && t.events.some((e) => events.includes(e));
      if (fires && dependsOnSessionPath(t)) {
        found.add(`${t.function}() (trigger "${t.name}" on ${table})`);
      }
    }
  }
  return [...found];
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
    const triggers = await triggerReport(client, needs);
    const sessionPath = needs.side === 'target' ? await sessionPathTriggers(client, needs) : [];
    const prepared =
      needs.side === 'target'
        ? await preparedReport(client, needs, connector.spec.lockTimeoutMs)
        : undefined;
    return {
      ...base,
      version: row.version,
      tls: row.ssl ? `on (${String(row.tls)})` : 'off',
      latencyMs: await roundTripMs(client),
      connectMs,
      missing: [
        ...(await missingPrivileges(client, needs)),
        ...triggers.missing,
        ...(await missingExtensionNeeds(client, needs)),
      ],
      checked: needs.tables.length,
      tables: needs.tables.map((t) => t.table),
      ...(triggers.may === undefined ? {} : { mayDisableTriggers: triggers.may }),
      ...(sessionPath.length > 0 ? { sessionPathTriggers: sessionPath } : {}),
      ...(prepared ? { prepared } : {}),
    };
  } catch (error) {
    return { ...base, error: describeError(error) };
  } finally {
    await client?.end().catch(() => undefined);
  }
}
