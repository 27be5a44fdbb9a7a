import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { spawnPgcopy } from '../support/child-pgcopy.js';
import { workDir } from '../support/cli.js';
import { endpointOf } from '../support/config.js';
import { servers, sql, sqlIn, uniqueName } from '../support/db.js';
import { randomBytes } from 'node:crypto';
import type { ServerInfo } from '../support/server-info.js';

const s = servers();
const schema = uniqueName('hung');
const q = `"${schema}"`;
let work: Awaited<ReturnType<typeof workDir>>;
let kept: unknown;
/** A database pair of its own: the backends it freezes are this file's, no other test's. */
const database = `pgcopy_hung_${randomBytes(3).toString('hex')}`;
const digest = async (): Promise<unknown> =>
  (await sqlIn(s.target1, database, `SELECT count(*)::int AS n, sum(id) AS total FROM ${q}.big`))
    .rows;

async function pgcopyBackends(server: ServerInfo): Promise<{ pid: number; wait: string | null }[]> {
  const { rows } = await sqlIn(
    server,
    database,
    `SELECT pid, wait_event_type AS wait FROM pg_stat_activity
      WHERE application_name = 'pgcopy' AND datname = current_database()`,
  );
  return rows as { pid: number; wait: string | null }[];
}

async function until(what: string, check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

beforeAll(async () => {
  for (const server of [s.source, s.target1]) await sql(server, `CREATE DATABASE ${database}`);
  await sqlIn(
    s.source,
    database,
    `CREATE SCHEMA ${q};
     CREATE TABLE ${q}.big (id int, payload text);
     INSERT INTO ${q}.big SELECT g, repeat('x', 200) FROM generate_series(1, 1500000) g;`,
  );
  await sqlIn(
    s.target1,
    database,
    `CREATE SCHEMA ${q};
     CREATE TABLE ${q}.big (id int, payload text);
     INSERT INTO ${q}.big VALUES (-1, 'kept');`,
  );
  kept = await digest();
  work = await workDir({
    source: { ...endpointOf(s.source, schema), database },
    targets: [{ name: 'db_1', ...endpointOf(s.target1, schema), database, tables: ['big'] }],
    options: { mode: 'truncate' },
  });
});

afterAll(async () => {
  await work.cleanup();
  for (const server of [s.source, s.target1]) {
    await sql(server, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  }
});

describe('an interrupt ends the run within seconds whatever the servers do', () => {
  it('Ctrl-C while waiting for a lock cancels the statement on the server and exits 130', async () => {
    const locker = new pg.Client({ ...s.target1, database });
    await locker.connect();
    try {
      // Blocks TRUNCATE and COPY FROM, not the plan's catalog reads.
      await locker.query(`BEGIN; LOCK TABLE ${q}.big IN EXCLUSIVE MODE`);
      const child = spawnPgcopy(['run', '-c', work.file], work.dir);
      await until('pgcopy to wait for the lock', async () =>
        (await pgcopyBackends(s.target1)).some((b) => b.wait === 'Lock'),
      );
      const started = Date.now();
      child.kill('SIGINT');
      expect(await child.exitWithin(10_000)).toBe(130);
      expect(Date.now() - started).toBeLessThan(8_000);
      expect(child.stdout()).toMatch(/db_1\s+big\s+error/);
      // The server-side statement was cancelled too: no backend is left queued behind the lock.
      await until(
        'pgcopy backends to leave',
        async () => (await pgcopyBackends(s.target1)).length === 0,
        3_000,
      );
    } finally {
      await locker.query('ROLLBACK');
      await locker.end();
    }
    expect(await digest()).toEqual(kept);
  });

  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)(
    '%s while the source backend is frozen exits %i within seconds',
    async (signal, code) => {
      const child = spawnPgcopy(['run', '-c', work.file], work.dir);
      const frozen: number[] = [];
      try {
        await child.waitForStderr('started db_1.big');
        // Freeze every source backend of the run: the copy, and the snapshot's ROLLBACK, never answer.
        for (const { pid } of await pgcopyBackends(s.source)) {
          process.kill(pid, 'SIGSTOP');
          frozen.push(pid);
        }
        const started = Date.now();
        child.kill(signal);
        expect(await child.exitWithin(12_000)).toBe(code);
        expect(Date.now() - started).toBeLessThan(10_000);
        expect(child.stderr()).toContain(`${signal} received, rolling back open work`);
        expect(child.stdout()).toMatch(/db_1\s+big\s+error/);
      } finally {
        for (const pid of frozen) process.kill(pid, 'SIGCONT');
      }
      expect(await digest()).toEqual(kept);
    },
  );
});
