import type pg from 'pg';
import { loadConfig } from '../../config/load.js';
import type { Config, Mode, TargetConfig } from '../../config/types.js';
import { describeSpec } from '../../db/connection-spec.js';
import type { Connector } from '../../db/connector.js';
import { Connectors } from '../../db/connectors.js';
import { ConfigError, describeError } from '../../errors.js';
import { createSecretsProvider } from '../../secrets/create-provider.js';
import { resolveEndpoints } from '../../secrets/resolve-endpoints.js';
import { openSshTunnel } from '../../tunnel/ssh-tunnel.js';
import { EXIT, type CliIo } from '../io.js';
import { parseCommandArgs } from '../parse-args.js';
import { requireConfigPath } from './plan.js';

type Privilege = 'SELECT' | 'INSERT' | 'UPDATE' | 'TRUNCATE';

/** What the run will do to one table, and so the privileges it needs there. */
export interface TableNeed {
  readonly table: string;
  readonly privileges: readonly Privilege[];
}

/** The tables an endpoint is used for, in its schema. */
export interface EndpointNeeds {
  readonly schema: string;
  readonly tables: readonly TableNeed[];
  /** upsert stages rows in a temporary table. */
  readonly temporary: boolean;
}

const MODE_PRIVILEGES: Readonly<Record<Mode, readonly Privilege[]>> = {
  append: ['INSERT'],
  truncate: ['INSERT', 'TRUNCATE'],
  // INSERT ... ON CONFLICT DO UPDATE from a staging table created from the target's columns.
  upsert: ['SELECT', 'INSERT', 'UPDATE'],
};

/** SELECT on each source table any target copies. */
export function sourceNeeds(config: Config): EndpointNeeds {
  const tables = new Set(config.targets.flatMap((t) => t.tables.map((s) => s.source)));
  return {
    schema: config.source.schema,
    tables: [...tables].map((table) => ({ table, privileges: ['SELECT'] })),
    temporary: false,
  };
}

/** What each of the target's tables needs for its mode (its own, else options.mode). */
export function targetNeeds(config: Config, target: TargetConfig): EndpointNeeds {
  const modes = target.tables.map((t) => t.mode ?? config.options.mode);
  return {
    schema: target.schema,
    tables: target.tables.map((t) => ({
      table: t.target,
      privileges: MODE_PRIVILEGES[t.mode ?? config.options.mode],
    })),
    temporary: modes.includes('upsert'),
  };
}

interface Reached {
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

interface Unreachable {
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
  if (needs.temporary) {
    const temp = await client.query<{ ok: boolean }>(
      `SELECT has_database_privilege(current_database(), 'TEMPORARY') AS ok`,
    );
    if (!(temp.rows as [{ ok: boolean }])[0].ok)
      missing.push('TEMPORARY on the database (upsert stages rows)');
  }
  return missing;
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

async function checkEndpoint(
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

function renderEndpoint(r: EndpointReport): string[] {
  if ('error' in r) return [r.description, `  error       ${r.error}`];
  const tables = `${r.checked} table${r.checked === 1 ? '' : 's'}`;
  return [
    r.description,
    `  server      PostgreSQL ${r.version}`,
    `  TLS         ${r.tls}`,
    `  latency     ${r.latencyMs.toFixed(1)} ms round trip (best of 5; connect ${r.connectMs} ms)`,
    r.missing.length === 0
      ? `  privileges  ok (${tables})`
      : `  privileges  MISSING: ${r.missing.join('; ')}`,
  ];
}

/** Everything that stops the run: unreachable endpoints, missing tables and privileges. */
export function checkProblems(reports: readonly EndpointReport[]): string[] {
  return reports.flatMap((r) =>
    'error' in r ? [`${r.name}: cannot connect`] : r.missing.map((m) => `${r.name}: ${m}`),
  );
}

export function renderCheck(reports: readonly EndpointReport[]): string {
  const problems = checkProblems(reports);
  const verdict =
    problems.length === 0
      ? 'check passed: every endpoint is reachable and has the privileges the run needs'
      : `check failed:\n${problems.map((p) => `  - ${p}`).join('\n')}`;
  return [...reports.flatMap((r) => [...renderEndpoint(r), '']), verdict].join('\n') + '\n';
}

/**
 * `pgcopy check -c FILE`: resolves secrets, opens tunnels and connects to every endpoint; prints
 * server version, TLS, latency and missing privileges. Exit 1 when anything is missing.
 */
export async function checkCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    config: { type: 'string', short: 'c' },
  });
  if (positionals.length > 0) {
    throw new ConfigError(`usage: unexpected argument "${positionals.join(' ')}"`);
  }
  const config = await loadConfig(requireConfigPath(values.config), io.env);
  const signal = io.signal;
  const secrets = config.secrets
    ? createSecretsProvider(config.secrets, { env: io.env })
    : undefined;
  let connectors: Connectors;
  try {
    const endpoints = await resolveEndpoints(config, { secrets, ...(signal ? { signal } : {}) });
    connectors = new Connectors(endpoints, { openTunnel: openSshTunnel });
  } finally {
    secrets?.close?.();
  }
  try {
    const reports = await Promise.all([
      checkEndpoint(connectors.source, sourceNeeds(config), signal),
      ...config.targets.map((t) =>
        checkEndpoint(connectors.target(t.name), targetNeeds(config, t), signal),
      ),
    ]);
    io.stdout.write(renderCheck(reports));
    signal?.throwIfAborted();
    return checkProblems(reports).length > 0 ? EXIT.FAILED : EXIT.OK;
  } finally {
    await connectors.close();
  }
}
