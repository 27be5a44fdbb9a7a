import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/copy/run.js';
import { WorkerConnections } from '../../src/copy/worker-connections.js';
import { Connector } from '../../src/db/connector.js';
import type { ConnectionSpec } from '../../src/db/connection-spec.js';
import type { ServerInfo } from '../support/server-info.js';
import type { RunEvent } from '../../src/report/events.js';
import { testConfig } from '../support/config.js';
import { servers, sql, tableDigest, uniqueName } from '../support/db.js';

const schema = uniqueName('Workers');
const q = `"${schema}"`;
const s = servers();
const tables = Array.from({ length: 50 }, (_, i) => `t${i}`);

/** pg's Client, counting the connections opened to each port and remembering whether they ended. */
function countingClient(): {
  Client: typeof pg.Client;
  opened: (port: number) => number;
  stillOpen: () => number;
} {
  const clients: { port: number; ended: boolean }[] = [];
  class CountingClient extends pg.Client {
    constructor(config?: string | pg.ClientConfig) {
      super(config);
      const entry = { port: typeof config === 'object' ? (config.port ?? 0) : 0, ended: false };
      clients.push(entry);
      this.once('end', () => (entry.ended = true));
    }
  }
  return {
    Client: CountingClient,
    opened: (port) => clients.filter((c) => c.port === port).length,
    stillOpen: () => clients.filter((c) => !c.ended).length,
  };
}

function specOf(server: ServerInfo, name: string): ConnectionSpec {
  const { host, port, user, password } = server;
  return { name, host, port, database: 'postgres', user, password, sslmode: 'disable' };
}

/** Every table's rows in one digest, each row tagged with its table. */
function allRows(): string {
  return tables.map((t) => `SELECT '${t}' AS t, r.* FROM ${q}.${t} r`).join(' UNION ALL ');
}

beforeAll(async () => {
  const create = tables.map((t) => `CREATE TABLE ${q}.${t} (id int, note text);`).join('\n');
  await sql(
    s.source,
    `CREATE SCHEMA ${q}; ${create}
     ${tables.map((t, i) => `INSERT INTO ${q}.${t} SELECT g, 'row ' || g FROM generate_series(1, ${100 + i}) g;`).join('\n')}
     CREATE TABLE ${q}.bad_check (id int, note text);
     CREATE TABLE ${q}.killed (id int, note text);
     INSERT INTO ${q}.bad_check SELECT g, 'x' FROM generate_series(1, 20000) g;
     INSERT INTO ${q}.killed SELECT g, 'x' FROM generate_series(1, 10000) g;
     ANALYZE ${q}.bad_check; ANALYZE ${q}.killed;`,
  );
  for (const server of [s.target1, s.target2]) {
    await sql(
      server,
      `CREATE SCHEMA ${q}; ${create}
       CREATE TABLE ${q}.bad_check (id int CHECK (id < 0), note text);
       CREATE TABLE ${q}.killed (id int, note text);
       CREATE FUNCTION ${q}.kill_me() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NULL; END $$;
       CREATE TRIGGER kill_me BEFORE INSERT ON ${q}.killed
         FOR EACH STATEMENT EXECUTE FUNCTION ${q}.kill_me();`,
    );
  }
});

afterAll(async () => {
  for (const server of [s.source, s.target1, s.target2]) {
    await sql(server, `DROP SCHEMA ${q} CASCADE`);
  }
});

const truncateAll = async (): Promise<void> => {
  for (const server of [s.target1, s.target2]) {
    await sql(server, tables.map((t) => `TRUNCATE ${q}.${t};`).join(' '));
  }
};

describe('connections live per worker, not per table', () => {
  it('two new connections per table: 50 tables into two targets at concurrency 3 open at most 4 per server, every table exact', async () => {
    await truncateAll();
    const counting = countingClient();
    const atPlan = new Map<number, number>();
    const config = testConfig(
      { server: s.source, schema },
      ['db_1', 'db_2'].map((name, i) => ({
        name,
        server: i === 0 ? s.target1 : s.target2,
        schema,
        tables,
      })),
      { mode: 'truncate' },
    );
    const { report } = await run(config, {
      concurrency: 3,
      deps: { Client: counting.Client },
      onEvent: (event: RunEvent) => {
        if (event.type !== 'plan') return;
        for (const server of [s.source, s.target1, s.target2]) {
          atPlan.set(server.port, counting.opened(server.port));
        }
      },
    });
    expect(report?.status).toBe('done');
    expect(report?.tables).toHaveLength(100);
    const duringCopy = (port: number): number => counting.opened(port) - (atPlan.get(port) ?? 0);
    // Three workers and the snapshot coordinator on the source; three workers on each target, and
    // the lock-wait monitor once a pair lasts longer than its first look (a loaded machine).
    expect(duringCopy(s.source.port)).toBeLessThanOrEqual(4);
    expect(duringCopy(s.target1.port)).toBeLessThanOrEqual(4);
    expect(duringCopy(s.target2.port)).toBeLessThanOrEqual(4);
    expect(counting.stillOpen()).toBe(0);
    const expected = await tableDigest(s.source, allRows());
    expect(await tableDigest(s.target1, allRows())).toEqual(expected);
    expect(await tableDigest(s.target2, allRows())).toEqual(expected);
  });

  it('a failed table (constraint violation, terminated backend) does not poison the next table on its worker', async () => {
    await truncateAll();
    const counting = countingClient();
    let atPlan = 0;
    const few = ['bad_check', 'killed', ...tables.slice(0, 4)];
    const order: string[] = [];
    const config = testConfig(
      { server: s.source, schema },
      [{ name: 'db_1', server: s.target1, schema, tables: few }],
      // Not retried: each failure must be followed by the next table on a new connection.
      { mode: 'truncate', retries: 0 },
    );
    const { report } = await run(config, {
      concurrency: 1,
      deps: { Client: counting.Client },
      onEvent: (event: RunEvent) => {
        if (event.type === 'plan') atPlan = counting.opened(s.target1.port);
        if (event.type === 'table-start') order.push(event.ref.table);
      },
    });
    const byTable = new Map(report?.tables.map((t) => [t.table, t]));
    expect(byTable.get('bad_check')?.error?.sqlstate).toBe('23514');
    expect(byTable.get('killed')?.error?.code).toBe('CONNECTION_LOST');
    // The largest tables go first: each failure is followed by another table on the one worker.
    expect(order.slice(0, 2).sort()).toEqual(['bad_check', 'killed']);
    for (const t of tables.slice(0, 4)) {
      expect(byTable.get(t)?.status).toBe('done');
      const rows = `SELECT * FROM ${q}.${t}`;
      expect(await tableDigest(s.target1, rows)).toEqual(await tableDigest(s.source, rows));
    }
    // One target connection (the plan's, handed on to the worker), replaced after each of the two
    // failures; none reused after one.
    expect(counting.opened(s.target1.port) - atPlan).toBe(2);
    expect(counting.stillOpen()).toBe(0);
  });

  it('an abort mid-run rolls back the open tables and closes every connection', async () => {
    await truncateAll();
    const counting = countingClient();
    const controller = new AbortController();
    let done = 0;
    const config = testConfig(
      { server: s.source, schema },
      [{ name: 'db_1', server: s.target1, schema, tables }],
      { mode: 'truncate' },
    );
    const { report } = await run(config, {
      concurrency: 3,
      signal: controller.signal,
      deps: { Client: counting.Client },
      onEvent: (event: RunEvent) => {
        if (event.type === 'table-done' && ++done === 5) controller.abort();
      },
    });
    const failed = report?.tables.filter((t) => t.error) ?? [];
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.every((t) => t.error?.code === 'ABORTED')).toBe(true);
    expect(counting.stillOpen()).toBe(0);
    // Every table is either whole or untouched.
    for (const t of report?.tables ?? []) {
      const rows = `SELECT * FROM ${q}.${t.table}`;
      const copied = await tableDigest(s.target1, rows);
      if (t.error) expect(copied.count).toBe(0);
      else expect(copied).toEqual(await tableDigest(s.source, rows));
    }
  });

  it('a connection that dies between tables, or a connect that fails, is not kept: the next table opens a new one', async () => {
    const connections = new WorkerConnections({
      source: new Connector(specOf(s.source, 'source')),
      target: (name) =>
        new Connector(specOf(name === 'down' ? { ...s.target1, port: 1 } : s.target1, name)),
    });
    try {
      const first = await connections.targetClient('db_1');
      const pid = (await first.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]
        ?.pid;
      const ended = new Promise((resolve) => first.once('end', resolve));
      await sql(s.target1, 'SELECT pg_terminate_backend($1)', [pid]);
      await ended;
      const second = await connections.targetClient('db_1');
      expect(second).not.toBe(first);
      expect((await second.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      expect(await connections.targetClient('db_1')).toBe(second);
      await expect(connections.targetClient('down')).rejects.toThrow(/cannot connect/);
      await expect(connections.targetClient('down')).rejects.toThrow(/cannot connect/);
    } finally {
      await connections.close();
    }
  });
});
