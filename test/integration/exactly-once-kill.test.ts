import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalPostgres } from '../../src/demo/local-postgres.js';
import { spawnPgcopy } from '../support/child-pgcopy.js';
import { workDir } from '../support/cli.js';
import { endpointOf } from '../support/config.js';
import { servers, sql, tableDigest, uniqueName } from '../support/db.js';
import { startPreparingTarget } from '../support/prepared-target.js';
import type { ServerInfo } from '../support/server-info.js';

// An append-mode run of three tables, one of them split in parts, killed with SIGKILL at ten
// moments: after each kill, the same command with the same --run-id finishes it, and every target
// table holds exactly the source's rows (none missing, none twice), with no prepared transaction left.
const schema = uniqueName('Kill');
const q = `"${schema}"`;
const s = servers();
const TABLES = ['a', 'big', 'c'] as const;
/** Every row passes; the source pauses now and then, so that the run lasts long enough to be cut. */
const paced = (every: number): string =>
  `CASE WHEN id % ${every} = 0 THEN pg_catalog.pg_sleep(0.02) IS NOT NULL ELSE true END`;
let own: LocalPostgres;
let target: ServerInfo;
let work: Awaited<ReturnType<typeof workDir>>;
const digests = new Map<string, { count: number; md5: string }>();

beforeAll(async () => {
  ({ server: own, info: target } = await startPreparingTarget('kill-target'));
  await sql(
    s.source,
    `CREATE SCHEMA ${q};
     CREATE TABLE ${q}.a (id int PRIMARY KEY, v text);
     INSERT INTO ${q}.a SELECT g, 'a' || g FROM generate_series(1, 6000) g;
     CREATE TABLE ${q}.big (id int PRIMARY KEY, payload text);
     INSERT INTO ${q}.big SELECT g, repeat('x', 100) || g FROM generate_series(1, 40000) g;
     CREATE TABLE ${q}.c (id int PRIMARY KEY, v text);
     INSERT INTO ${q}.c SELECT g, 'c' || g FROM generate_series(1, 6000) g;
     ANALYZE ${q}.big;`,
  );
  for (const t of TABLES) {
    digests.set(t, await tableDigest(s.source, `SELECT * FROM ${q}.${t} ORDER BY id`));
  }
  work = await workDir({
    source: endpointOf(s.source, schema),
    targets: [
      {
        name: 'db_1',
        ...endpointOf(target, schema),
        tables: [
          { name: 'a', where: paced(300) },
          { name: 'big', where: paced(2000) },
          { name: 'c', where: paced(300) },
        ],
      },
    ],
    options: {
      mode: 'append',
      concurrency: 2,
      retries: 0,
      logDir: 'logs',
      split: { minBytes: '1MB', parts: 2 },
    },
  });
}, 60_000);

afterAll(async () => {
  await work.cleanup();
  await sql(s.source, `DROP SCHEMA IF EXISTS ${q} CASCADE`);
  await own.stop();
});

async function fresh(): Promise<void> {
  await sql(
    target,
    `DROP SCHEMA IF EXISTS ${q} CASCADE; CREATE SCHEMA ${q};
     ${TABLES.map((t) => `CREATE TABLE ${q}.${t} (id int, ${t === 'big' ? 'payload' : 'v'} text);`).join('\n')}`,
  );
}

const command = (runId: string): string[] => ['run', '-c', work.file, '--run-id', runId];

/** Runs the command to its end; returns its exit code and how long it took. */
async function complete(runId: string): Promise<{ code: number | null; ms: number; err: string }> {
  const started = performance.now();
  const child = spawnPgcopy(command(runId), work.dir);
  const code = await child.exitWithin(120_000);
  return { code, ms: performance.now() - started, err: child.stderr() };
}

async function exact(): Promise<void> {
  for (const t of TABLES) {
    expect(await tableDigest(target, `SELECT * FROM ${q}.${t} ORDER BY id`), t).toEqual(
      digests.get(t),
    );
  }
  const { rows } = await sql(target, `SELECT gid FROM pg_prepared_xacts`);
  expect(rows).toEqual([]);
}

/** A moment: a text the run prints on stderr, or milliseconds after it started. */
type Moment = { readonly text: string } | { readonly fraction: number };

describe('SIGKILL at ten moments, then the same command with the same --run-id', () => {
  it('leaves every table with exactly the source rows and no prepared transaction', async () => {
    await fresh();
    const baseline = await complete('kill-baseline');
    expect(baseline.code, baseline.err).toBe(0);
    await exact();
    const moments: Moment[] = [
      { text: 'Run kill-' },
      { text: 'started db_1.big' },
      { text: 'started db_1.a' },
      { text: 'started db_1.c' },
      { text: 'Done: db_1.' },
      { fraction: 0.2 },
      { fraction: 0.4 },
      { fraction: 0.6 },
      { fraction: 0.8 },
      { fraction: 0.95 },
    ];
    const killed: string[] = [];
    for (const [i, moment] of moments.entries()) {
      await fresh();
      const runId = `kill-${i}`;
      const child = spawnPgcopy(command(runId), work.dir);
      if ('text' in moment) await child.waitForStderr(moment.text);
      else await new Promise((resolve) => setTimeout(resolve, moment.fraction * baseline.ms));
      child.kill('SIGKILL');
      const code = await child.exitWithin(10_000);
      killed.push(`${i}: ${code === null ? 'killed' : `exited ${code}`}`);
      const again = await complete(runId);
      expect(again.code, `${JSON.stringify(moment)}: ${again.err}`).toBe(0);
      await exact();
    }
    // Most kills must have caught the run before its end, or the test says nothing.
    expect(killed.filter((k) => k.endsWith('killed')).length).toBeGreaterThanOrEqual(8);
  }, 600_000);
});
