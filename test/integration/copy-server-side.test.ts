import { randomBytes } from 'node:crypto';
import { createServer, connect as tcpConnect, type Server } from 'node:net';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Strategy, TargetConfig } from '../../src/config/types.js';
import { checkEndpoint } from '../../src/check/check-endpoint.js';
import { sourceNeeds, targetNeeds } from '../../src/check/needs.js';
import { Connectors } from '../../src/db/connectors.js';
import { resolveEndpoints } from '../../src/secrets/resolve-endpoints.js';
import { validateConfig } from '../../src/config/validate.js';
import { run } from '../../src/copy/run.js';
import { extensionSchema } from '../../src/copy/strategies/server-link.js';
import type { RunEvent } from '../../src/report/events.js';
import { endpointOf } from '../support/config.js';
import { servers, sql, sqlIn, tableDigest, uniqueName } from '../support/db.js';
import { result } from '../support/report.js';
import type { ServerInfo } from '../support/server-info.js';

/** What only the server-side strategies do: extensions, server objects, credentials, failures. */

const schema = uniqueName('Server Side');
const q = `"${schema}"`;
const s = servers();
const SERVER_SIDE: readonly Strategy[] = ['dblink', 'fdw', 'fdw-push'];
/** The killed-backend tests run in a database pair of their own. */
const killDatabase = `pgcopy_kill_${randomBytes(3).toString('hex')}`;

/**
 * pgcopy's leftovers on a server: foreign servers, user mappings, and sessions of this file's
 * runs (other test files run at the same time; given time to end).
 */
async function leftovers(server: ServerInfo, database = 'postgres'): Promise<unknown> {
  const deadline = Date.now() + 3000;
  for (;;) {
    const found = await leftoversNow(server, database);
    if (found.sessions === 0 || Date.now() > deadline) return found;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function leftoversNow(
  server: ServerInfo,
  database: string,
): Promise<{ servers: number; mappings: number; sessions: number }> {
  const r = await sqlIn(
    server,
    database,
    `SELECT (SELECT count(*)::int FROM pg_foreign_server WHERE srvname LIKE 'pgcopy%') AS servers,
            (SELECT count(*)::int FROM pg_user_mappings WHERE srvname LIKE 'pgcopy%') AS mappings,
            (SELECT count(*)::int FROM pg_stat_activity
              WHERE application_name LIKE 'pgcopy%' AND pid <> pg_backend_pid()
                AND strpos(query, $1) > 0) AS sessions`,
    [schema],
  );
  return r.rows[0] as { servers: number; mappings: number; sessions: number };
}

function config(
  strategy: Strategy,
  tables: readonly unknown[],
  more: { source?: Record<string, unknown>; target?: Record<string, unknown> } = {},
): ReturnType<typeof validateConfig> {
  return validateConfig({
    source: { ...endpointOf(s.source, schema), ...more.source },
    targets: [{ name: 'one', ...endpointOf(s.target1, schema), tables, ...more.target }],
    options: { strategy, createExtensions: true },
  });
}

beforeAll(async () => {
  await sql(
    s.source,
    `CREATE SCHEMA ${q};
     CREATE TABLE ${q}.items (id int PRIMARY KEY, v text);
     INSERT INTO ${q}.items SELECT g, 'v' || g FROM generate_series(1, 3000) g;`,
  );
  await sql(
    s.target1,
    `CREATE SCHEMA ${q};
     CREATE TABLE ${q}.items (id int PRIMARY KEY, v text);
     CREATE TABLE ${q}.clash (id int PRIMARY KEY, v text);`,
  );
  for (const server of [s.source, s.target1]) await sql(server, `CREATE DATABASE ${killDatabase}`);
  await sqlIn(
    s.source,
    killDatabase,
    `CREATE SCHEMA ${q};
     CREATE TABLE ${q}.items (id int PRIMARY KEY, v text);
     INSERT INTO ${q}.items SELECT g, 'v' || g FROM generate_series(1, 3000) g;`,
  );
  await sqlIn(
    s.target1,
    killDatabase,
    `CREATE SCHEMA ${q};
     CREATE TABLE ${q}.slow (id int PRIMARY KEY, v text);
     CREATE FUNCTION ${q}.slowly() RETURNS trigger LANGUAGE plpgsql AS
       $$ BEGIN PERFORM pg_catalog.pg_sleep(0.001); RETURN NEW; END $$;
     CREATE TRIGGER slowly BEFORE INSERT ON ${q}.slow FOR EACH ROW EXECUTE FUNCTION ${q}.slowly();`,
  );
});

afterEach(async () => {
  // Nothing of pgcopy's outlives a run, whatever the strategy and however the table ended.
  for (const server of [s.source, s.target1]) {
    expect(await leftovers(server)).toEqual({ servers: 0, mappings: 0, sessions: 0 });
  }
});

afterAll(async () => {
  for (const server of [s.source, s.target1]) {
    await sql(server, `DROP SCHEMA ${q} CASCADE`);
    await sql(server, `DROP DATABASE IF EXISTS ${killDatabase} WITH (FORCE)`);
  }
});

describe.each(SERVER_SIDE)('server-side strategy %s', (strategy) => {
  it('a failure in the middle of a table leaves the target unchanged', async () => {
    await sql(
      s.target1,
      `TRUNCATE ${q}.clash; INSERT INTO ${q}.clash VALUES (-1, 'old'), (2500, 'clashes');`,
    );
    const before = await tableDigest(s.target1, `SELECT * FROM ${q}.clash`);
    const { report } = await run(config(strategy, [{ name: 'items', target: 'clash' }]));
    const clash = result(report, 'clash');
    expect([clash.status, clash.rows, clash.error?.sqlstate]).toEqual(['error', 0, '23505']);
    expect(await tableDigest(s.target1, `SELECT * FROM ${q}.clash`)).toEqual(before);
  });

  it('a remote backend killed mid-table leaves the target unchanged', async () => {
    // In databases of their own: the kill must reach this test's sessions, no other file's.
    const db = (server: ServerInfo, text: string): Promise<pg.QueryResult> =>
      sqlIn(server, killDatabase, text);
    await db(s.target1, `TRUNCATE ${q}.slow; INSERT INTO ${q}.slow VALUES (-1, 'old')`);
    const digest = async (): Promise<unknown> =>
      (await db(s.target1, `SELECT count(*)::int AS n, sum(id)::int AS total FROM ${q}.slow`)).rows;
    const before = await digest();
    // Slow it down: postgres_fdw pulls while the target's trigger sleeps; the others read slowly.
    const table =
      strategy === 'fdw'
        ? { name: 'items', target: 'slow' }
        : { name: 'items', target: 'slow', where: 'pg_catalog.pg_sleep(0.001) IS NOT NULL' };
    const killed = (async (): Promise<void> => {
      await new Promise((resolve) => setTimeout(resolve, 800));
      // The server on the far side of the link: the source for a pull, the target for a push.
      const far = strategy === 'fdw-push' ? s.target1 : s.source;
      await db(
        far,
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE application_name LIKE 'pgcopy%' AND datname = current_database()
            AND pid <> pg_backend_pid()`,
      );
    })();
    const inKillDatabase = { database: killDatabase };
    const { report } = await run(
      validateConfig({
        source: { ...endpointOf(s.source, schema), ...inKillDatabase },
        targets: [
          { name: 'one', ...endpointOf(s.target1, schema), ...inKillDatabase, tables: [table] },
        ],
        // Not retried here: what a kill leaves behind is the point.
        options: { strategy, createExtensions: true, retries: 0 },
      }),
    );
    await killed;
    const slow = result(report, 'slow');
    expect([slow.status, slow.rows]).toEqual(['error', 0]);
    expect(await digest()).toEqual(before);
  });

  it('a password with quotes, spaces and backslashes reaches the other server and no output', async () => {
    const role = `pgcopy_pw_${randomBytes(3).toString('hex')}`;
    const password = `it's a "pass\\word" \\' ; --`;
    await sql(
      s.source,
      `CREATE ROLE ${role} LOGIN SUPERUSER PASSWORD '${password.replaceAll("'", "''")}'`,
    );
    await sql(
      s.target1,
      `CREATE ROLE ${role} LOGIN SUPERUSER PASSWORD '${password.replaceAll("'", "''")}'`,
    );
    try {
      await sql(s.target1, `TRUNCATE ${q}.items`);
      const login = { user: role, password };
      const events: RunEvent[] = [];
      const { plan, report } = await run(
        config(strategy, ['items'], { source: login, target: login }),
        { onEvent: (e) => events.push(e) },
      );
      expect(result(report, 'items')).toMatchObject({ status: 'done', rows: 3000 });
      expect(await tableDigest(s.target1, `SELECT * FROM ${q}.items`)).toEqual(
        await tableDigest(s.source, `SELECT * FROM ${q}.items`),
      );
      const output = JSON.stringify({ plan, report, events });
      expect(output).not.toContain('pass\\\\word');
      expect(output).not.toContain('pass\\word');
    } finally {
      for (const server of [s.source, s.target1]) await sql(server, `DROP ROLE ${role}`);
    }
  });
});

describe('extensions and addresses', () => {
  const database = `pgcopy_ext_${randomBytes(3).toString('hex')}`;

  beforeAll(async () => {
    for (const server of [s.source, s.target1]) {
      await sql(server, `CREATE DATABASE ${database}`);
      await sqlIn(
        server,
        database,
        `CREATE SCHEMA ${q}; CREATE TABLE ${q}.items (id int PRIMARY KEY, v text);
         INSERT INTO ${q}.items SELECT g, 'v' || g FROM generate_series(1, 100) g;`,
      );
    }
    await sqlIn(s.target1, database, `TRUNCATE ${q}.items`);
  });

  afterAll(async () => {
    for (const server of [s.source, s.target1]) {
      await sql(server, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    }
  });

  it('a strategy that finds its extension missing at run time fails naming it', async () => {
    const client = new pg.Client({ ...s.target1, database });
    await client.connect();
    try {
      await expect(extensionSchema(client, 'postgres_fdw', 'one.items')).rejects.toThrow(
        'the postgres_fdw extension is not installed',
      );
    } finally {
      await client.end();
    }
  });

  it('a missing extension is a plan error naming the SQL to run; createExtensions creates it', async () => {
    for (const [strategy, side, extension] of [
      ['dblink', 'target "one"', 'dblink'],
      ['fdw', 'target "one"', 'postgres_fdw'],
      ['fdw-push', 'the source', 'postgres_fdw'],
    ] as const) {
      const raw = {
        source: { ...endpointOf(s.source, schema), database },
        targets: [{ name: 'one', ...endpointOf(s.target1, schema), database, tables: ['items'] }],
        options: { strategy, mode: 'truncate' },
      };
      // check sees it too, on the server that runs the strategy.
      const checked = validateConfig(raw);
      const connectors = new Connectors(await resolveEndpoints(checked));
      try {
        const report =
          side === 'the source'
            ? await checkEndpoint(connectors.source, sourceNeeds(checked), undefined)
            : await checkEndpoint(
                connectors.target('one'),
                targetNeeds(checked, checked.targets[0] as TargetConfig),
                undefined,
              );
        expect('missing' in report ? report.missing : report).toContain(
          `extension ${extension} (a superuser runs CREATE EXTENSION ${extension};)`,
        );
      } finally {
        await connectors.close();
      }
      const refused = await run(validateConfig(raw), { dryRun: true });
      expect(refused.plan.targets[0]?.tables[0]?.errors).toEqual([
        `strategy ${strategy}: the ${extension} extension is not installed on ${side}: a superuser runs "CREATE EXTENSION ${extension};" there, or set options.createExtensions: true`,
      ]);
      const { plan, report } = await run(
        validateConfig({ ...raw, options: { ...raw.options, createExtensions: true } }),
      );
      expect(result(report, 'items')).toMatchObject({ status: 'done', rows: 100, strategy });
      expect(plan.targets[0]?.tables[0]?.notes).toContain(
        `creates the ${extension} extension on ${side} before copying`,
      );
    }
  });

  it('serverAddress: the servers reach each other where pgcopy does not', async () => {
    // pgcopy reaches the source through a local forwarder; the target's server uses the real port.
    const forwarder = await forward(s.source.port);
    const address = forwarder.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    try {
      const raw = (serverPort: number): unknown => ({
        source: {
          ...endpointOf(s.source, schema),
          port: address.port,
          serverAddress: { host: '127.0.0.1', port: serverPort },
        },
        targets: [{ name: 'one', ...endpointOf(s.target1, schema), tables: ['items'] }],
        options: { strategy: 'dblink', mode: 'truncate', createExtensions: true },
      });
      const { report } = await run(validateConfig(raw(s.source.port)));
      expect(result(report, 'items')).toMatchObject({ status: 'done', rows: 3000 });
      // The target's server dials serverAddress, not pgcopy's address: a closed port fails.
      const closed = await unusedPort();
      const failed = await run(validateConfig(raw(closed)));
      expect(result(failed.report, 'items').error?.message).toContain(
        'could not establish connection',
      );
    } finally {
      await new Promise((resolve) => forwarder.close(resolve));
    }
  });
});

/** A TCP forwarder on a loopback port to `port`. */
async function forward(port: number): Promise<Server> {
  const server = createServer((socket) => {
    const upstream = tcpConnect(port, '127.0.0.1');
    socket.on('error', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
    socket.pipe(upstream).pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}
