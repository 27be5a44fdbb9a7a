import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/copy/run.js';
import type { LocalPostgres } from '../../src/demo/local-postgres.js';
import type { RunEvent, RunReport } from '../../src/report/events.js';
import { CommitCutProxy, type Cut } from '../support/commit-cut-proxy.js';
import { testConfig } from '../support/config.js';
import { servers, sql, tableDigest, uniqueName } from '../support/db.js';
import { startPreparingTarget } from '../support/prepared-target.js';
import { result } from '../support/report.js';
import type { ServerInfo } from '../support/server-info.js';

// Whether a table's rows were committed is read from the target's ledger, never inferred: a
// connection cut at COMMIT leaves the outcome unknown, and the re-run under the same run id
// finishes the table exactly (none missing, none twice, no prepared transaction left).
const schema = uniqueName('Once');
const q = `"${schema}"`;
const s = servers();
const ROWS = { a: 2_000, big: 40_000 };
let own: LocalPostgres;
let target: ServerInfo;
let proxy: CommitCutProxy;
let digests: Record<'a' | 'big', { count: number; md5: string }>;

beforeAll(async () => {
  ({ server: own, info: target } = await startPreparingTarget('once-target'));
  proxy = await CommitCutProxy.start(target);
  await sql(
    s.source,
    `CREATE SCHEMA ${q};
     CREATE TABLE ${q}.a (id int PRIMARY KEY, v text);
     INSERT INTO ${q}.a SELECT g, 'a' || g FROM generate_series(1, ${ROWS.a}) g;
     CREATE TABLE ${q}.big (id int PRIMARY KEY, payload text);
     INSERT INTO ${q}.big SELECT g, repeat('x', 100) || g FROM generate_series(1, ${ROWS.big}) g;
     ANALYZE ${q}.big;
     CREATE TABLE ${q}.p (id int PRIMARY KEY);
     INSERT INTO ${q}.p SELECT generate_series(1, 100);
     CREATE TABLE ${q}.c (id int PRIMARY KEY, p int REFERENCES ${q}.p);
     INSERT INTO ${q}.c SELECT g, g FROM generate_series(1, 100) g;`,
  );
  digests = {
    a: await tableDigest(s.source, `SELECT * FROM ${q}.a ORDER BY id`),
    big: await tableDigest(s.source, `SELECT * FROM ${q}.big ORDER BY id`),
  };
}, 60_000);

afterAll(async () => {
  await proxy.stop();
  await sql(s.source, `DROP SCHEMA IF EXISTS ${q} CASCADE`);
  await own.stop();
});

async function fresh(): Promise<void> {
  await sql(
    target,
    `SET lock_timeout = '5s'; DROP SCHEMA IF EXISTS ${q} CASCADE; CREATE SCHEMA ${q};
     CREATE TABLE ${q}.a (id int, v text);
     CREATE TABLE ${q}.big (id int, payload text);
     CREATE TABLE ${q}.p (id int PRIMARY KEY);
     CREATE TABLE ${q}.c (id int PRIMARY KEY, p int REFERENCES ${q}.p);`,
  );
}

/** A run of `tables` into the target through the proxy (append mode, no retries). */
async function copy(
  tables: string[],
  runId: string,
  mode = 'append',
): Promise<{ report: RunReport; events: RunEvent[] }> {
  const events: RunEvent[] = [];
  const config = testConfig(
    { server: s.source, schema },
    [{ name: 'db_1', server: { ...target, port: proxy.port }, schema, tables }],
    { split: { minBytes: '1MB', parts: 2 }, concurrency: 2, retries: 0, mode },
  );
  const outcome = await run(config, {
    runId,
    onEvent: (e) => events.push(e),
    retryDelays: { baseDelayMs: 10, maxDelayMs: 10 },
  });
  return { report: outcome.report as RunReport, events };
}

const digest = (table: 'a' | 'big') =>
  tableDigest(target, `SELECT * FROM ${q}.${table} ORDER BY id`);
const preparedLeft = async (): Promise<number> =>
  (
    (await sql(target, `SELECT count(*)::int AS n FROM pg_prepared_xacts`)).rows[0] as {
      n: number;
    }
  ).n;

/** The pair's COMMIT: the ledger's row and the COMMIT go in one query. */
const PAIR_COMMIT = /^INSERT INTO "pgcopy"\."ledger" .*; COMMIT$/s;
const PREPARED_COMMIT = /^COMMIT PREPARED /;

describe("a connection cut at a truncate group's COMMIT", () => {
  for (const forward of [true, false]) {
    it(`${forward ? 'received' : 'lost'}: both members are unknown, and the re-run under the same run id completes the group exactly`, async () => {
      await fresh();
      const runId = `cut-group-${forward}`;
      proxy.arm({ query: /^COMMIT$/, forward });
      const first = await copy(['p', 'c'], runId, 'truncate');
      for (const table of ['p', 'c']) {
        expect(result(first.report, table)).toMatchObject({ status: 'unknown', rows: 100 });
      }
      const second = await copy(['p', 'c'], runId, 'truncate');
      for (const table of ['p', 'c']) {
        expect(result(second.report, table).status).toBe('done');
        expect(await tableDigest(target, `SELECT * FROM ${q}.${table} ORDER BY id`)).toEqual(
          await tableDigest(s.source, `SELECT * FROM ${q}.${table} ORDER BY id`),
        );
      }
    }, 60_000);
  }
});

describe('a connection cut while a table commits', () => {
  // known: the other part's connection may read the outcome (its prepared part follows the first).
  const cases: { name: string; table: 'a' | 'big'; cut: Cut; known?: true }[] = [
    { name: "a table's COMMIT, received", table: 'a', cut: { query: PAIR_COMMIT, forward: true } },
    { name: "a table's COMMIT, lost", table: 'a', cut: { query: PAIR_COMMIT, forward: false } },
    {
      name: "a split table's first part's COMMIT, lost",
      table: 'big',
      cut: { query: PAIR_COMMIT, forward: false },
    },
    {
      name: "a split table's first part's COMMIT, received",
      table: 'big',
      cut: { query: PAIR_COMMIT, forward: true },
      known: true,
    },
    {
      name: "a split table's COMMIT PREPARED, lost",
      table: 'big',
      cut: { query: PREPARED_COMMIT, forward: false },
    },
    {
      name: "a split table's COMMIT PREPARED, received",
      table: 'big',
      cut: { query: PREPARED_COMMIT, forward: true },
    },
  ];
  for (const c of cases) {
    it(`${c.name}: the outcome is ${c.known ? 'read from the other part (or unknown)' : 'unknown'}, and the re-run under the same run id completes the table exactly`, async () => {
      await fresh();
      const runId = `cut-${c.table}-${cases.indexOf(c)}`;
      const cutsBefore = proxy.cuts.length;
      proxy.arm(c.cut);
      const first = await copy([c.table], runId);
      expect(proxy.cuts).toHaveLength(cutsBefore + 1);
      const cut = result(first.report, c.table);
      expect(first.report.runId).toBe(runId);
      if (c.known && cut.status === 'done') {
        // The other part read the outcome, unless it looked before the server had committed.
        expect(cut.rows).toBe(ROWS[c.table]);
      } else {
        // Never `error` with 0 rows: the rows were sent, and whether they are in is not known.
        expect(cut).toMatchObject({ status: 'unknown', rows: ROWS[c.table] });
        expect(cut.error?.code).toBe('OUTCOME_UNKNOWN');
        expect(cut.error?.message).toContain('same run id');
        expect(first.report.status).toBe('unknown');
      }

      const second = await copy([c.table], runId);
      const again = result(second.report, c.table);
      expect(again.status).toBe('done');
      expect(await digest(c.table)).toEqual(digests[c.table]);
      expect(await preparedLeft()).toBe(0);
      // What the re-run found is said: committed (skipped, by the ledger) or copied.
      const said = second.events.find((e) => e.type === 'table-resume');
      if (again.resumed) {
        expect(said).toMatchObject({ skipped: true });
        expect(again.committedBefore?.rows).toBe(ROWS[c.table]);
      } else {
        expect(again.rows).toBe(ROWS[c.table]);
      }
      // Every event of the run carries its id.
      expect(second.events.every((e) => e.runId === runId)).toBe(true);
    }, 60_000);
  }
});
