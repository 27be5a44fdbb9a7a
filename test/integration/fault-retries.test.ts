import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunReport } from '../../src/report/events.js';
import { cli, workDir } from '../support/cli.js';
import { endpointOf } from '../support/config.js';
import { isCopyQuery, servers, sql, tableDigest, uniqueName } from '../support/db.js';
import { leftoverSessions, terminateCopyBackend } from '../support/faults.js';
import { result } from '../support/report.js';

// Lean on purpose (the whole suite shares two cores): 150,000 rows take long enough to be
// interrupted mid-COPY. The unique violation has a narrow table of its own, of 1,000,000 rows.
const ROWS = 150_000;
const MILLION = 1_000_000;
/**
 * Every row still passes, but the source pauses 5 ms every 1,000 rows (about 0.75 s in all), so
 * that the COPY is still running when the test looks for it, however loaded the machine is.
 */
const PACED = 'CASE WHEN id % 1000 = 0 THEN pg_catalog.pg_sleep(0.005) IS NOT NULL ELSE true END';
const schema = uniqueName('Fault');
const q = `"${schema}"`;
const s = servers();
const before = { count: 1, md5: '' };
let sourceDigest = { count: 0, md5: '' };

beforeAll(async () => {
  await sql(
    s.source,
    `CREATE SCHEMA ${q};
     CREATE TABLE ${q}.big (id int PRIMARY KEY, payload text);
     INSERT INTO ${q}.big SELECT g, repeat('x', 200) FROM generate_series(1, ${ROWS}) g;
     CREATE TABLE ${q}.small (id int PRIMARY KEY);
     INSERT INTO ${q}.small SELECT generate_series(1, 10);
     CREATE TABLE ${q}.million (id int PRIMARY KEY);
     INSERT INTO ${q}.million SELECT generate_series(1, ${MILLION});`,
  );
  sourceDigest = await tableDigest(s.source, `SELECT * FROM ${q}.big`);
});

afterAll(async () => {
  await sql(s.source, `DROP SCHEMA ${q} CASCADE`);
});

/** A fresh target table holding one row of its own, and a work dir whose config copies into it. */
async function scenario(options: Record<string, unknown>, targetRow = -1, tables = ['big']) {
  await sql(
    s.target1,
    `DROP SCHEMA IF EXISTS ${q} CASCADE; CREATE SCHEMA ${q};
     CREATE TABLE ${q}.big (id int PRIMARY KEY, payload text);
     CREATE TABLE ${q}.small (id int PRIMARY KEY);
     CREATE TABLE ${q}.million (id int PRIMARY KEY);
     INSERT INTO ${q}.big VALUES (${targetRow}, 'kept');
     INSERT INTO ${q}.million VALUES (${targetRow});`,
  );
  Object.assign(before, await tableDigest(s.target1, `SELECT * FROM ${q}.big`));
  return workDir({
    source: endpointOf(s.source, schema),
    targets: [
      {
        name: 'db_1',
        ...endpointOf(s.target1, schema),
        tables: tables.map((name) => (name === 'big' ? { name, where: PACED } : name)),
      },
    ],
    options: { logDir: 'logs', ...options },
  });
}

async function readReport(dir: string): Promise<RunReport> {
  return JSON.parse(await readFile(join(dir, 'report.json'), 'utf8')) as RunReport;
}

async function readAudit(dir: string): Promise<string> {
  const [file] = await readdir(join(dir, 'logs'));
  return readFile(join(dir, 'logs', file ?? ''), 'utf8');
}

async function expectNoLeftovers(): Promise<void> {
  expect(await leftoverSessions(s.source, schema)).toBe(0);
  expect(await leftoverSessions(s.target1, schema)).toBe(0);
}

describe('fault suite: transient failures are retried, permanent ones are not', () => {
  it.each([
    ['source reader', () => s.source],
    ['target writer', () => s.target1],
  ] as const)(
    'the %s backend terminated once mid-copy: the retry completes the table in 2 attempts',
    async (_side, server) => {
      const work = await scenario({ mode: 'truncate' });
      try {
        const pending = cli(['run', '-c', work.file, '--quiet', '--report', 'report.json'], {
          cwd: work.dir,
        });
        expect(await terminateCopyBackend(server(), schema)).toBe(true);
        const run = await pending;
        expect(run.code).toBe(0);
        const table = result(await readReport(work.dir), 'big');
        expect(table).toMatchObject({ status: 'done', rows: ROWS, attempts: 2, error: null });
        expect(await tableDigest(s.target1, `SELECT * FROM ${q}.big`)).toEqual(sourceDigest);
        const audit = await readAudit(work.dir);
        expect(audit).toMatch(/Retrying db_1\.big \(attempt 2 of 4, in \d+ ms\) after: /);
        expect(audit).toMatch(new RegExp(`✅ Done: db_1\\.big rows=${ROWS} .* attempts=2$`, 'm'));
        await expectNoLeftovers();
      } finally {
        await work.cleanup();
      }
    },
  );

  it('the source reader terminated on every attempt: the table ends error after retries + 1 attempts, untouched', async () => {
    const work = await scenario({ mode: 'truncate', retries: 2 });
    try {
      const pending = cli(['run', '-c', work.file, '--quiet', '--report', 'report.json'], {
        cwd: work.dir,
      });
      const state = { done: false };
      void pending.finally(() => (state.done = true));
      const killed = new Set<number>();
      while (!state.done) await terminateCopyBackend(s.source, schema, 500, killed);
      const run = await pending;
      expect(run.code).toBe(1);
      expect(killed.size).toBe(3);
      const table = result(await readReport(work.dir), 'big');
      expect(table).toMatchObject({ status: 'error', rows: 0, attempts: 3 });
      expect(table.error).toMatchObject({ code: 'CONNECTION_LOST', transient: true });
      expect(await tableDigest(s.target1, `SELECT * FROM ${q}.big`)).toEqual(before);
      const audit = await readAudit(work.dir);
      expect(audit.match(/Retrying db_1\.big/g)).toHaveLength(2);
      expect(audit).toMatch(/❌ Error copying db_1\.big .* attempts=3 error: /);
      await expectNoLeftovers();
    } finally {
      await work.cleanup();
    }
  });

  it('a unique violation at row 500,000 of 1,000,000 is permanent: one attempt, nothing kept', async () => {
    const work = await scenario({ mode: 'append' }, MILLION / 2, ['million']);
    const million = `SELECT * FROM ${q}.million`;
    const kept = await tableDigest(s.target1, million);
    try {
      const run = await cli(['run', '-c', work.file, '--quiet', '--report', 'report.json'], {
        cwd: work.dir,
      });
      expect(run.code).toBe(1);
      const table = result(await readReport(work.dir), 'million');
      expect(table).toMatchObject({ status: 'error', rows: 0, attempts: 1 });
      expect(table.error).toMatchObject({ sqlstate: '23505' });
      expect(table.error?.message).toMatch(/\(id\)=\(500000\)/);
      expect(table.error?.transient).toBeUndefined();
      expect(await tableDigest(s.target1, million)).toEqual(kept);
      expect(kept.count).toBe(1);
      expect(await readAudit(work.dir)).not.toMatch(/Retrying/);
      await expectNoLeftovers();
    } finally {
      await work.cleanup();
    }
  });

  it.each([
    ['fail', 'error', 1],
    ['reexport', 'done', 2],
  ] as const)(
    'the snapshot coordinator terminated mid-run (onSnapshotLoss %s): the next table ends %s',
    async (policy, status, snapshots) => {
      const work = await scenario({ mode: 'truncate', onSnapshotLoss: policy }, -1, [
        'big',
        'small',
      ]);
      try {
        // One worker: big (the larger) first; the coordinator dies while big copies.
        const pending = cli(
          ['run', '-c', work.file, '--quiet', '--concurrency', '1', '--report', 'report.json'],
          { cwd: work.dir },
        );
        await waitForCopy(schema, pending);
        const coordinators = await coordinatorPids();
        expect(coordinators).toHaveLength(1);
        await sql(s.source, `SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) pid`, [
          coordinators,
        ]);
        const run = await pending;
        const report = await readReport(work.dir);
        expect(run.code).toBe(status === 'done' ? 0 : 1);
        expect(result(report, 'big')).toMatchObject({ status: 'done', rows: ROWS, attempts: 1 });
        expect(result(report, 'small').status).toBe(status);
        if (status === 'error') {
          expect(result(report, 'small').error).toMatchObject({ code: 'SNAPSHOT_LOST' });
          expect(result(report, 'small').error?.message).toMatch(
            /^the source snapshot \S+ was lost .*options\.onSnapshotLoss is fail/,
          );
          expect(report.snapshots).toBeUndefined();
        } else {
          expect(report.snapshots).toHaveLength(snapshots);
        }
        expect(await readAudit(work.dir)).toMatch(/Snapshot \S+ lost/);
        await expectNoLeftovers();
      } finally {
        await work.cleanup();
      }
    },
  );
});

/** Waits until pgcopy's COPY of this test's schema runs on the source. */
async function waitForCopy(marker: string, run: Promise<unknown>): Promise<void> {
  const state = { ended: false };
  void run.finally(() => (state.ended = true));
  for (let i = 0; i < 2_000 && !state.ended; i += 1) {
    const { rows } = await sql(
      s.source,
      `SELECT 1 FROM pg_stat_activity WHERE application_name = 'pgcopy' AND state = 'active'
        AND ${isCopyQuery()} AND query LIKE $1`,
      [`%${marker}%`],
    );
    if (rows.length > 0) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`the COPY never started (the run ${state.ended ? 'ended first' : 'hung'})`);
}

/**
 * The coordinators of runs copying this test's schema: the sessions that exported the snapshot
 * the COPY's session imported (same backend_xmin), idle in their transaction.
 */
async function coordinatorPids(): Promise<number[]> {
  const { rows } = await sql(
    s.source,
    `SELECT c.pid FROM pg_stat_activity c JOIN pg_stat_activity w
        ON w.backend_xmin = c.backend_xmin AND w.pid <> c.pid
      WHERE c.application_name = 'pgcopy' AND c.query LIKE '%pg_export_snapshot%'
        AND ${isCopyQuery('w.query')} AND w.query LIKE $1`,
    [`%${schema}%`],
  );
  return rows.map((r: { pid: number }) => r.pid);
}
