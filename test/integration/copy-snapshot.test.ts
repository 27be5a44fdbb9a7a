import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/copy/run.js';
import type { ServerInfo } from '../support/server-info.js';
import { connect, isCopyQuery, servers, sql, tableDigest, uniqueName } from '../support/db.js';
import { endpointOf, testConfig } from '../support/config.js';
import { validateConfig } from '../../src/config/validate.js';

const schema = uniqueName('Copy Snapshot');
const q = `"${schema}"`;
const s = servers();
const BASE = 100_000;
const idleDb = uniqueName('snapshot_idle');
const WRITES_BEFORE_RELEASE = 25;

const TABLES = `
  CREATE TABLE ${q}.orders (id int PRIMARY KEY, customer int NOT NULL, amount numeric NOT NULL);
  CREATE TABLE ${q}.order_lines (order_id int PRIMARY KEY, amount numeric NOT NULL);
  CREATE TABLE ${q}.counter (id int PRIMARY KEY, n int NOT NULL, total numeric NOT NULL);`;

beforeAll(async () => {
  await sql(
    s.source,
    `CREATE SCHEMA ${q}; ${TABLES}
     INSERT INTO ${q}.orders SELECT g, g % 97, g * 0.01 FROM generate_series(1, ${BASE}) g;
     INSERT INTO ${q}.order_lines SELECT g, g * 0.01 FROM generate_series(1, ${BASE}) g;
     INSERT INTO ${q}.counter SELECT 1, ${BASE}, sum(g * 0.01) FROM generate_series(1, ${BASE}) g;
     ANALYZE ${q}.orders, ${q}.order_lines, ${q}.counter;`,
  );
  for (const target of [s.target1, s.target2]) await sql(target, `CREATE SCHEMA ${q}; ${TABLES}`);
});

afterAll(async () => {
  for (const server of [s.source, s.target1, s.target2])
    await sql(server, `DROP SCHEMA ${q} CASCADE`);
  await sql(s.source, `DROP DATABASE IF EXISTS "${idleDb}" WITH (FORCE)`);
});

/** One write: a new order, its line, an updated existing order, and the counter, in one transaction. */
async function writeOnce(client: pg.Client): Promise<void> {
  await client.query('BEGIN');
  const { rows } = await client.query<{ n: number }>(
    `UPDATE ${q}.counter SET n = n + 1 WHERE id = 1 RETURNING n`,
  );
  const n = rows[0]?.n ?? 0;
  await client.query(`INSERT INTO ${q}.orders VALUES ($1, $1 % 97, 1)`, [n]);
  await client.query(`INSERT INTO ${q}.order_lines VALUES ($1, 1)`, [n]);
  // Move money between two old orders and their lines: totals stay, rows change.
  const from = 1 + (n % 1000);
  const to = 1001 + (n % 1000);
  await client.query(
    `UPDATE ${q}.orders SET amount = amount + CASE id WHEN $1 THEN -0.5 ELSE 0.5 END WHERE id IN ($1, $2)`,
    [from, to],
  );
  await client.query(
    `UPDATE ${q}.order_lines SET amount = amount + CASE order_id WHEN $1 THEN -0.5 ELSE 0.5 END WHERE order_id IN ($1, $2)`,
    [from, to],
  );
  await client.query(`UPDATE ${q}.counter SET total = total + 1 WHERE id = 1`);
  await client.query('COMMIT');
}

/** Resolves when `count` pgcopy COPY statements wait for a lock, over all the given servers. */
async function waitForLockedCopies(on: readonly ServerInfo[], count: number): Promise<void> {
  for (let attempt = 0; attempt < 1200; attempt += 1) {
    let waiting = 0;
    for (const server of on) {
      const r = await sql(
        server,
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE application_name = 'pgcopy' AND wait_event_type = 'Lock'
            AND ${isCopyQuery()} AND strpos(query, $1) > 0`,
        [schema],
      );
      waiting += (r.rows[0] as { n: number }).n;
    }
    if (waiting >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`fewer than ${count} pgcopy COPY statements waiting for a lock`);
}

const consistent = (server: ServerInfo): Promise<unknown> =>
  sql(
    server,
    `SELECT (SELECT n FROM ${q}.counter) AS n,
            (SELECT count(*)::int FROM ${q}.orders) AS orders,
            (SELECT count(*)::int FROM ${q}.order_lines) AS lines,
            (SELECT max(id) FROM ${q}.orders) AS max_order,
            (SELECT sum(amount) FROM ${q}.orders) = (SELECT total FROM ${q}.counter) AS orders_total_ok,
            (SELECT sum(amount) FROM ${q}.order_lines) = (SELECT total FROM ${q}.counter) AS lines_total_ok,
            (SELECT count(*)::int FROM ${q}.orders o FULL JOIN ${q}.order_lines l ON l.order_id = o.id
              WHERE o.id IS NULL OR l.order_id IS NULL OR o.amount <> l.amount) AS mismatched`,
  ).then((r) => r.rows[0] as unknown);

describe('one consistent snapshot', () => {
  it('copies every table into every target as of one instant while the source keeps changing', async () => {
    const tables = ['orders', 'order_lines', 'counter'];
    // Hold the target tables in SHARE mode: the copies (taken from the snapshot) wait for the lock
    // while the source moves on, so the writes provably fall between the snapshot and the reads.
    const lockers = await Promise.all([s.target1, s.target2].map((t) => connect(t)));
    for (const locker of lockers) {
      await locker.query('BEGIN');
      await locker.query(`LOCK TABLE ${tables.map((t) => `${q}.${t}`).join(', ')} IN SHARE MODE`);
    }
    const writer = await connect(s.source);
    let writes = 0;
    const control = { stop: false };
    let writing: Promise<void> | undefined;
    let snapshotTaken = (): void => undefined;
    const started = new Promise<void>((resolve) => {
      snapshotTaken = resolve;
    });
    const config = testConfig({ server: s.source, schema }, [
      { name: 'one', server: s.target1, schema, tables },
      { name: 'two', server: s.target2, schema, tables },
    ]);
    try {
      const copying = run(config, {
        concurrency: 2,
        onEvent: (e) => {
          if (e.type === 'run-start') snapshotTaken();
        },
      });
      await started;
      await waitForLockedCopies([s.target1, s.target2], 2);
      for (let i = 0; i < WRITES_BEFORE_RELEASE; i += 1) {
        await writeOnce(writer);
        writes += 1;
      }
      // Keep writing while the copies run, until the run ends.
      writing = (async () => {
        while (!control.stop) {
          await writeOnce(writer);
          writes += 1;
        }
      })();
      for (const locker of lockers) await locker.query('ROLLBACK');
      const { report } = await copying;
      control.stop = true;
      await writing;

      expect(report?.tables.map((t) => [t.target, t.table, t.status, t.error])).toEqual([
        ['one', 'orders', 'done', null],
        ['one', 'order_lines', 'done', null],
        ['one', 'counter', 'done', null],
        ['two', 'orders', 'done', null],
        ['two', 'order_lines', 'done', null],
        ['two', 'counter', 'done', null],
      ]);
      expect(writes).toBeGreaterThanOrEqual(WRITES_BEFORE_RELEASE);
      // Every target holds the source as of the snapshot: before any of the writes.
      const atSnapshot = {
        n: BASE,
        orders: BASE,
        lines: BASE,
        max_order: BASE,
        orders_total_ok: true,
        lines_total_ok: true,
        mismatched: 0,
      };
      expect(await consistent(s.target1)).toEqual(atSnapshot);
      expect(await consistent(s.target2)).toEqual(atSnapshot);
      // The source did move on, and stayed consistent itself.
      expect(await consistent(s.source)).toEqual({
        ...atSnapshot,
        n: BASE + writes,
        orders: BASE + writes,
        lines: BASE + writes,
        max_order: BASE + writes,
      });
      const digest = `SELECT * FROM ${q}.orders WHERE id <= ${BASE}`;
      expect(await tableDigest(s.target1, digest)).toEqual(await tableDigest(s.target2, digest));
    } finally {
      control.stop = true;
      await writing?.catch(() => undefined);
      for (const client of [...lockers, writer]) await client.end().catch(() => undefined);
    }
  });

  it('keeps the snapshot alive while the coordinator idles, whatever idle_in_transaction_session_timeout says', async () => {
    await sql(s.source, `CREATE DATABASE "${idleDb}"`);
    await sql(
      s.source,
      `ALTER DATABASE "${idleDb}" SET idle_in_transaction_session_timeout = '100ms'`,
    );
    const source = new pg.Client({ ...s.source, database: idleDb });
    await source.connect();
    try {
      await source.query(`CREATE SCHEMA ${q};
        CREATE TABLE ${q}.first (id int, pad text);
        INSERT INTO ${q}.first SELECT g, repeat('x', 200) FROM generate_series(1, 2000) g;
        CREATE TABLE ${q}.second (id int);
        INSERT INTO ${q}.second VALUES (1), (2);`);
    } finally {
      await source.end();
    }
    await sql(
      s.target1,
      `CREATE TABLE ${q}.first (id int, pad text); CREATE TABLE ${q}.second (id int)`,
    );
    // Hold the first (largest) table's load well past the timeout; the second joins the snapshot after.
    const locker = await connect(s.target1);
    await locker.query(`BEGIN; LOCK TABLE ${q}.first IN SHARE MODE`);
    const config = validateConfig({
      source: { ...endpointOf(s.source, schema), database: idleDb },
      targets: [{ name: 'one', ...endpointOf(s.target1, schema), tables: ['first', 'second'] }],
      options: { concurrency: 1 },
    });
    try {
      const copying = run(config);
      await waitForLockedCopies([s.target1], 1);
      await new Promise((resolve) => setTimeout(resolve, 500));
      await locker.query('ROLLBACK');
      const { report } = await copying;
      expect(report?.tables.map((t) => [t.table, t.status, t.rows, t.error])).toEqual([
        ['first', 'done', 2000, null],
        ['second', 'done', 2, null],
      ]);
    } finally {
      await locker.end();
    }
  });
});
