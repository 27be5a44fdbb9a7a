import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Strategy } from '../../src/config/types.js';
import { validateConfig } from '../../src/config/validate.js';
import { run } from '../../src/copy/run.js';
import { embeddedBinDir } from '../../src/demo/binaries.js';
import { startLocalPostgres, type LocalPostgres } from '../../src/demo/local-postgres.js';
import { endpointOf } from '../support/config.js';
import { result } from '../support/report.js';

/**
 * The server-side strategies hand one server the other's password. Each server here writes its
 * log to a file (logging_collector), read back after each copy under each statement-logging
 * setting a DBA may choose.
 */

const schema = 'server_log_secrets';
let source: LocalPostgres;
let target: LocalPostgres;
/** What beforeAll started, for afterAll to stop (also when the other failed to start). */
const started: LocalPostgres[] = [];
const logs = new Map<string, string>();

const LOGGING: readonly Record<string, string>[] = [
  { log_statement: 'all' },
  { log_statement: 'mod' },
  { log_statement: 'ddl' },
  { log_min_duration_statement: '0' },
  { log_min_duration_sample: '0', log_statement_sample_rate: '1' },
  { log_statement: 'all', log_parameter_max_length: '-1', log_min_error_statement: 'debug5' },
];

async function sqlOn(server: LocalPostgres, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: server.url() });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

/** Sets the server's logging (ALTER SYSTEM, reloaded), after resetting the previous case's. */
async function logWith(server: LocalPostgres, settings: Record<string, string>): Promise<void> {
  const names = [
    'log_statement',
    'log_min_duration_statement',
    'log_min_duration_sample',
    'log_statement_sample_rate',
    'log_parameter_max_length',
    'log_min_error_statement',
  ];
  const sets = names.map((n) =>
    settings[n] === undefined
      ? `ALTER SYSTEM RESET ${n}`
      : `ALTER SYSTEM SET ${n} = '${settings[n]}'`,
  );
  for (const statement of sets) await sqlOn(server, statement);
  await sqlOn(server, 'SELECT pg_reload_conf()');
  // A reload reaches each backend at its next command; new sessions have it at once.
  await new Promise((resolve) => setTimeout(resolve, 200));
}

const readLog = (server: LocalPostgres): string => logs.get(server.name) ?? '';

function config(strategy: Strategy): ReturnType<typeof validateConfig> {
  const endpoint = (server: LocalPostgres): Record<string, unknown> =>
    endpointOf(
      {
        name: server.name,
        host: server.host,
        port: server.port,
        user: server.user,
        password: server.password,
        majorVersion: server.majorVersion,
      },
      schema,
    );
  return validateConfig({
    source: endpoint(source),
    targets: [{ name: 'one', ...endpoint(target), tables: ['items'] }],
    options: { strategy, mode: 'truncate', createExtensions: true },
  });
}

beforeAll(async () => {
  const logging = (name: string) => ({
    binDir: embeddedBinDir(),
    name,
    onLog: (text: string) => logs.set(name, (logs.get(name) ?? '') + text),
  });
  const servers = await Promise.allSettled([
    startLocalPostgres(logging('log-source')),
    startLocalPostgres(logging('log-target')),
  ]);
  for (const s of servers) if (s.status === 'fulfilled') started.push(s.value);
  const failed = servers.find((s) => s.status === 'rejected');
  if (failed) throw failed.reason;
  [source, target] = started as [LocalPostgres, LocalPostgres];
  const table = `CREATE SCHEMA ${schema}; CREATE TABLE ${schema}.items (id int PRIMARY KEY, v text)`;
  await sqlOn(
    source,
    `${table}; INSERT INTO ${schema}.items SELECT g, 'v' || g FROM generate_series(1, 200) g`,
  );
  await sqlOn(target, table);
});

afterAll(async () => {
  await Promise.all(started.map((server) => server.stop()));
});

describe('bug: dblink, fdw and fdw-push passed the other server password where statement logs record it', () => {
  it.each(LOGGING.map((settings) => [JSON.stringify(settings), settings] as const))(
    'with %s on both servers, no copy leaves a password in either log',
    async (_name, settings) => {
      await Promise.all([logWith(source, settings), logWith(target, settings)]);
      for (const strategy of ['dblink', 'fdw', 'fdw-push'] as const) {
        const { report } = await run(config(strategy));
        expect(result(report, 'items'), strategy).toMatchObject({
          status: 'done',
          rows: 200,
        });
      }
      // The server writes its log line by line as it goes: give the last lines time to arrive.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const written = [readLog(source), readLog(target)];
      // The logs hold what the setting logs: without them the test could not fail.
      if (settings['log_statement'] !== 'ddl') expect(written[1]).toMatch(/INSERT INTO/);
      for (const log of written) {
        expect(log).not.toContain(source.password);
        expect(log).not.toContain(target.password);
      }
    },
  );
});
