import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/copy/run.js';
import type { LocalPostgres } from '../../src/demo/local-postgres.js';
import type { RunEvent, RunReport, TableResult } from '../../src/report/events.js';
import { preparedSettledLine } from '../../src/report/audit-lines.js';
import { testConfig } from '../support/config.js';
import { connect, servers, sql, tableDigest, uniqueName } from '../support/db.js';
import { leftoverSessions, terminateCopyBackend } from '../support/faults.js';
import type { ServerInfo } from '../support/server-info.js';
import { startPreparingTarget } from '../support/prepared-target.js';

// Split tables commit their parts together through prepared transactions: the suite's targets
// have none (max_prepared_transactions = 0), so this file starts a target of its own that has.
const ROWS = 60_000;
/** Every row passes, but the source pauses now and then, so that a test can catch a part's COPY. */
const PACED = 'CASE WHEN id % 1000 = 0 THEN pg_catalog.pg_sleep(0.01) IS NOT NULL ELSE true END';
const schema = uniqueName('Split');
const q = `"${schema}"`;
const s = servers();
let own: LocalPostgres;
let target: ServerInfo;
let sourceDigest = { count: 0, md5: '' };

beforeAll(async () => {
  ({ server: own, info: target } = await startPreparingTarget('split-target'));
  await sql(
    s.source,
    `CREATE SCHEMA ${q};
     CREATE TABLE ${q}.big (id int PRIMARY KEY, payload text);
     INSERT INTO ${q}.big SELECT g, repeat('x', 100) || g FROM generate_series(1, ${ROWS}) g;
     CREATE TABLE ${q}.small (id int);
     INSERT INTO ${q}.small SELECT generate_series(1, 10);
     ANALYZE ${q}.big;`,
  );
  sourceDigest = await tableDigest(s.source, `SELECT * FROM ${q}.big`);
}, 60_000);

afterAll(async () => {
  await sql(s.source, `DROP SCHEMA ${q} CASCADE`);
  await sql(s.target1, `DROP SCHEMA IF EXISTS ${q} CASCADE`);
  await own.stop();
});

/** A fresh target schema: `big` with a sequence-backed key and `before` rows of its own. */
async function fresh(server: ServerInfo, before: string[] = []): Promise<void> {
  await sql(
    server,
    `DROP SCHEMA IF EXISTS ${q} CASCADE; CREATE SCHEMA ${q};
     CREATE TABLE ${q}.big (id serial PRIMARY KEY, payload text);
     CREATE TABLE ${q}.small (id int);
     ${before.map((row) => `INSERT INTO ${q}.big VALUES ${row};`).join('\n')}`,
  );
}

function config(
  server: ServerInfo,
  options: Record<string, unknown> = {},
  table: Record<string, unknown> = {},
) {
  return testConfig(
    { server: s.source, schema },
    [{ name: 'db_1', server, schema, tables: [{ name: 'big', ...table }, 'small'] }],
    { split: { minBytes: '1MB', parts: 2 }, concurrency: 2, retries: 0, ...options },
  );
}

async function copy(
  server: ServerInfo,
  options: Record<string, unknown> = {},
  table: Record<string, unknown> = {},
  signal?: AbortSignal,
): Promise<{ report: RunReport; big: TableResult; events: RunEvent[] }> {
  const events: RunEvent[] = [];
  const outcome = await run(config(server, options, table), {
    signal,
    onEvent: (e) => events.push(e),
    retryDelays: { baseDelayMs: 10, maxDelayMs: 10 },
    progressIntervalMs: 0,
  });
  const report = outcome.report as RunReport;
  const big = report.tables.find((t) => t.table === 'big') as TableResult;
  return { report, big, events };
}

async function prepared(server: ServerInfo): Promise<string[]> {
  const { rows } = await sql(server, `SELECT gid FROM pg_prepared_xacts ORDER BY gid`);
  return (rows as { gid: string }[]).map((r) => r.gid);
}

const digestOf = (server: ServerInfo) => tableDigest(server, `SELECT * FROM ${q}.big`);

describe('options.split: a big table in parts, committed together', () => {
  it('copies a split table exactly, in two parts, and moves its sequence past the copied keys', async () => {
    await fresh(target);
    const { big, events } = await copy(target);
    expect(big.error).toBeNull();
    expect(big.rows).toBe(ROWS);
    expect(await digestOf(target)).toEqual(sourceDigest);
    const plan = events.find((e) => e.type === 'plan');
    const planned = plan?.plan.targets[0]?.tables.find((t) => t.targetTable === 'big');
    expect(planned?.split).toEqual({ parts: 2, by: 'blocks' });
    expect(planned?.notes).toContain('split into 2 parts by block ranges, committed together');
    expect(events.some((e) => e.type === 'table-progress' && e.ref.table === 'big')).toBe(true);
    const { rows } = await sql(target, `SELECT nextval('${q}.big_id_seq')::int AS next`);
    expect(rows[0]).toEqual({ next: ROWS + 1 });
    expect(await prepared(target)).toEqual([]);
  });

  it('bug: insert-new was split and its parts could not be prepared (temporary staging table): it stays one stream and copies', async () => {
    await fresh(target, [`(1, 'mine')`, `(2, 'mine')`]);
    const { big, events } = await copy(target, { mode: 'insert-new' });
    expect(big.error).toBeNull();
    expect(big.changes).toEqual({ inserted: ROWS - 2, updated: 0, unchanged: 2 });
    const plan = events.find((e) => e.type === 'plan');
    const planned = plan?.plan.targets[0]?.tables.find((t) => t.targetTable === 'big');
    expect(planned?.split).toMatchObject({ parts: 1 });
    expect(await prepared(target)).toEqual([]);
  });

  it("checks the target's domain with the role's search_path in every part (a check function naming a table without its schema)", async () => {
    const app = uniqueName('split_app').toLowerCase();
    await sql(
      target,
      `DROP SCHEMA IF EXISTS ${q} CASCADE; CREATE SCHEMA ${q}; CREATE SCHEMA ${app};
       CREATE TABLE ${app}.limits (max_len int); INSERT INTO ${app}.limits VALUES (200);
       SET check_function_bodies = off;
       CREATE FUNCTION ${app}.fits(text) RETURNS boolean LANGUAGE sql STABLE
         AS 'SELECT length($1) <= (SELECT max_len FROM limits)';
       CREATE DOMAIN ${app}.payload AS text CHECK (${app}.fits(VALUE));
       CREATE TABLE ${q}.big (id serial PRIMARY KEY, payload ${app}.payload);
       CREATE TABLE ${q}.small (id int);
       ALTER ROLE ${target.user} SET search_path = ${app}, public`,
    );
    try {
      const { big, events } = await copy(target);
      const plan = events.find((e) => e.type === 'plan');
      const planned = plan?.plan.targets[0]?.tables.find((t) => t.targetTable === 'big');
      expect(planned?.split?.parts).toBe(2);
      expect(big.error).toBeNull();
      expect(big.rows).toBe(ROWS);
      expect(await prepared(target)).toEqual([]);
    } finally {
      await sql(target, `ALTER ROLE ${target.user} RESET search_path; DROP SCHEMA ${app} CASCADE`);
      await fresh(target);
    }
  });

  it('keeps the where filter of the table on every part', async () => {
    await fresh(target);
    const { big } = await copy(target, {}, { where: 'id % 7 = 0 -- a comment' });
    expect(big.rows).toBe(Math.floor(ROWS / 7));
    expect(await digestOf(target)).toEqual(
      await tableDigest(s.source, `SELECT * FROM ${q}.big WHERE id % 7 = 0`),
    );
  });

  it('bug: a unique violation in the second part must leave the target table exactly as before', async () => {
    await fresh(target, [`(${ROWS}, 'already here')`]);
    const before = await digestOf(target);
    const { big } = await copy(target);
    expect(big.error?.sqlstate).toBe('23505');
    expect(big.rows).toBe(0);
    expect(await digestOf(target)).toEqual(before);
    expect(await prepared(target)).toEqual([]);
  });

  it('bug: a terminated part backend must roll every part back, and a retry copies the table once', async () => {
    await fresh(target);
    const before = await digestOf(target);
    const terminated = new Set<number>();
    const killed = terminateCopyBackend(target, schema, 20_000, terminated);
    const failed = await copy(target, {}, { where: PACED });
    expect(await killed).toBe(true);
    expect(failed.big.error?.code).toBe('CONNECTION_LOST');
    expect(await digestOf(target)).toEqual(before);
    expect(await prepared(target)).toEqual([]);

    const killedAgain = terminateCopyBackend(target, schema, 20_000, terminated);
    const retried = await copy(target, { retries: 1 }, { where: PACED });
    expect(await killedAgain).toBe(true);
    expect(retried.big.error).toBeNull();
    expect(retried.big.attempts).toBe(2);
    expect(await digestOf(target)).toEqual(sourceDigest);
    expect(await prepared(target)).toEqual([]);
  });

  it('bug: a part that cannot be prepared (no free slot) must roll every part back', async () => {
    await fresh(target);
    const before = await digestOf(target);
    // Another application holds every prepared-transaction slot of the target.
    const holders = ['a', 'b', 'c', 'd'].map((n) => `other_app_${schema}_${n}`);
    for (const gid of holders) await sql(target, `BEGIN; PREPARE TRANSACTION '${gid}'`);
    try {
      const { big } = await copy(target);
      expect(big.error?.message).toContain('prepared transactions');
      expect(await digestOf(target)).toEqual(before);
      expect(await prepared(target)).toEqual(holders.sort());
    } finally {
      for (const gid of holders) await sql(target, `ROLLBACK PREPARED '${gid}'`);
    }
  });

  it('bug: an interrupt mid-copy must roll every part back and end every session', async () => {
    await fresh(target);
    const before = await digestOf(target);
    const controller = new AbortController();
    const copying = (async () => {
      for (let i = 0; i < 2000; i++) {
        const { rows } = await sql(
          target,
          `SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE application_name = 'pgcopy' AND state = 'active' AND query LIKE $1`,
          [`COPY %${schema}%`],
        );
        if ((rows[0] as { n: number }).n >= 2) return true;
        await new Promise((r) => setTimeout(r, 10));
      }
      return false;
    })().then((seen) => {
      controller.abort();
      return seen;
    });
    const { big } = await copy(target, {}, { where: PACED }, controller.signal);
    expect(await copying).toBe(true);
    expect(big.error?.code).toBe('ABORTED');
    expect(await digestOf(target)).toEqual(before);
    expect(await prepared(target)).toEqual([]);
    expect(await leftoverSessions(target, schema)).toBe(0);
  });

  it('bug: a part that times out on a lock must name the holder, as one stream does', async () => {
    await fresh(target);
    const locker = await connect(target);
    try {
      await locker.query(`SET application_name = 'locker'`);
      await locker.query(`BEGIN; LOCK TABLE ${q}.big IN ACCESS EXCLUSIVE MODE`);
      const pid = (await locker.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]
        ?.pid;
      const { big } = await copy(target, { lockTimeout: '300ms' });
      expect(big.error?.sqlstate).toBe('55P03');
      expect(big.error?.message).toBe(
        `lock timeout: db_1.big could not be locked within lock_timeout 300 ms: held by pid ${pid} (AccessExclusiveLock, user ${target.user}, application "locker", idle in transaction)`,
      );
    } finally {
      await locker.query('ROLLBACK');
      await locker.end();
    }
    expect(await prepared(target)).toEqual([]);
  });

  it('bug: rows of two parts that conflict on a unique key only the target has must not wait on each other for ever', async () => {
    await sql(
      s.source,
      `CREATE TABLE ${q}.dup (id int PRIMARY KEY, k int);
       -- Unique within either half of the table, repeated across the halves.
       INSERT INTO ${q}.dup SELECT g, (g - 1) % ${(ROWS * 2) / 3} FROM generate_series(1, ${ROWS}) g;
       ANALYZE ${q}.dup;`,
    );
    await fresh(target);
    await sql(target, `CREATE TABLE ${q}.dup (id int PRIMARY KEY, k int UNIQUE)`);
    const events: RunEvent[] = [];
    const outcome = await run(
      testConfig(
        { server: s.source, schema },
        [{ name: 'db_1', server: target, schema, tables: ['dup'] }],
        {
          split: { minBytes: '1MB', parts: 2 },
          concurrency: 2,
          retries: 0,
          // Without the plan's refusal, the parts would wait on each other until this ends them.
          lockTimeout: '5s',
        },
      ),
      { onEvent: (e) => events.push(e) },
    );
    expect(outcome.report?.tables[0]?.error?.sqlstate).toBe('23505');
    const plan = events.find((e) => e.type === 'plan');
    expect(plan?.plan.targets[0]?.tables[0]?.split?.reason).toBe(
      'the target\'s index dup_k_key is not a unique key of the source (source columns "k"): rows of two parts could wait on each other',
    );
    expect(await prepared(target)).toEqual([]);
    await sql(s.source, `DROP TABLE ${q}.dup`);
  });

  it("bug: a table whose foreign key references itself must not be split (a row's parent may be in another part)", async () => {
    const tree = `CREATE TABLE ${q}.tree (id int PRIMARY KEY, parent int REFERENCES ${q}.tree, note text)`;
    await sql(
      s.source,
      `${tree};
       INSERT INTO ${q}.tree SELECT g, nullif(g - 1, 0), repeat('n', 30) FROM generate_series(1, ${ROWS}) g;
       ANALYZE ${q}.tree;`,
    );
    await fresh(target);
    await sql(target, tree);
    const events: RunEvent[] = [];
    const outcome = await run(
      testConfig(
        { server: s.source, schema },
        [{ name: 'db_1', server: target, schema, tables: ['tree'] }],
        { split: { minBytes: '1MB', parts: 2 }, concurrency: 2, retries: 0, lockTimeout: '5s' },
      ),
      { onEvent: (e) => events.push(e) },
    );
    expect(outcome.report?.tables[0]?.error).toBeNull();
    expect(await tableDigest(target, `SELECT * FROM ${q}.tree`)).toEqual(
      await tableDigest(s.source, `SELECT * FROM ${q}.tree`),
    );
    const plan = events.find((e) => e.type === 'plan');
    expect(plan?.plan.targets[0]?.tables[0]?.split?.reason).toBe(
      "the target's foreign key tree_parent_fkey references its own table: a row's parent may be in another part, not yet committed",
    );
    await sql(s.source, `DROP TABLE ${q}.tree`);
  });

  it('warns of a split table that copied zero rows', async () => {
    await fresh(target);
    const { big } = await copy(target, {}, { where: 'false' });
    expect(big.status).toBe('warnings');
    expect(big.warnings).toContain('zero rows copied');
  });

  it('falls back to one stream on a target without prepared transactions, and the plan says why', async () => {
    await fresh(s.target1);
    const { big, events } = await copy(s.target1);
    expect(big.error).toBeNull();
    expect(await digestOf(s.target1)).toEqual(sourceDigest);
    const plan = events.find((e) => e.type === 'plan');
    const planned = plan?.plan.targets[0]?.tables.find((t) => t.targetTable === 'big');
    expect(planned?.split?.parts).toBe(1);
    expect(planned?.notes).toContain(
      "not split: the target's max_prepared_transactions is 0; committing the parts together needs at least 1",
    );
  });

  it("holds at most concurrency + 1 connections per server: the parts take the run's slots", async () => {
    await fresh(target);
    let peak = { source: 0, target: 0 };
    const count = async (server: ServerInfo): Promise<number> => {
      const { rows } = await sql(
        server,
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'pgcopy'`,
      );
      return (rows[0] as { n: number }).n;
    };
    const watch = { done: false };
    const watching = (async () => {
      while (!watch.done) {
        const [src, tgt] = await Promise.all([count(s.source), count(target)]);
        peak = { source: Math.max(peak.source, src), target: Math.max(peak.target, tgt) };
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    try {
      const { report } = await copy(target, {}, { where: PACED });
      expect(report.status).not.toBe('error');
    } finally {
      watch.done = true;
      await watching;
    }
    expect(peak.source).toBeGreaterThanOrEqual(2);
    expect(peak.source).toBeLessThanOrEqual(3);
    expect(peak.target).toBeLessThanOrEqual(3);
  });

  it('settles the prepared parts a crashed run left, each as its first part ended', async () => {
    await fresh(target);
    const decider = await connect(target);
    const xid = async (end: 'COMMIT' | 'ROLLBACK' | undefined): Promise<string> => {
      await decider.query('BEGIN');
      const { rows } = await decider.query<{ xid: string }>('SELECT txid_current()::text AS xid');
      if (end) await decider.query(end);
      return rows[0]?.xid ?? '';
    };
    const leave = (gid: string, table: string, id: number): Promise<unknown> =>
      sql(target, `BEGIN; INSERT INTO ${q}.${table} VALUES (${id}); PREPARE TRANSACTION '${gid}'`);
    const committed = `pgcopy_0123456789ab_x${await xid('COMMIT')}_big_2`;
    const rolledBack = `pgcopy_0123456789ab_x${await xid('ROLLBACK')}_big_2`;
    const pending = `pgcopy_0123456789ab_x${await xid(undefined)}_small_2`;
    try {
      await leave(committed, 'big', -1);
      await leave(rolledBack, 'big', -2);
      await leave(pending, 'small', -3);
      const { big, events } = await copy(target);
      expect(big.error).toBeNull();
      const settled = events.find(
        (e): e is Extract<RunEvent, { type: 'prepared-settled' }> => e.type === 'prepared-settled',
      );
      expect(settled).toMatchObject({
        target: 'db_1',
        committed: [committed],
        rolledBack: [rolledBack],
        pending: [pending],
      });
      expect(settled && preparedSettledLine(settled)).toBe(
        `Target db_1: prepared transactions left by an earlier run: committed (their table had committed) ${committed}; rolled back (their table had failed) ${rolledBack}; left alone (their table is still being copied) ${pending}`,
      );
      const { rows } = await sql(target, `SELECT id FROM ${q}.big WHERE id < 0`);
      expect(rows).toEqual([{ id: -1 }]);
      expect(await prepared(target)).toEqual([pending]);
    } finally {
      await decider.query('ROLLBACK');
      await decider.end();
      for (const gid of await prepared(target)) await sql(target, `ROLLBACK PREPARED '${gid}'`);
    }
  });

  it("bug: another role's leftover prepared part must not stop the run from copying", async () => {
    await fresh(target);
    const role = `split_user_${schema.slice(-8)}`;
    await sql(
      target,
      `CREATE ROLE ${role} LOGIN PASSWORD 'pw';
       GRANT USAGE ON SCHEMA ${q} TO ${role};
       GRANT ALL ON ALL TABLES IN SCHEMA ${q} TO ${role};
       GRANT ALL ON ALL SEQUENCES IN SCHEMA ${q} TO ${role};`,
    );
    // Left by a run as the superuser: this run's role may not finish it.
    const gid = `pgcopy_0123456789ab_x1_small_2`;
    await sql(target, `BEGIN; INSERT INTO ${q}.small VALUES (-1); PREPARE TRANSACTION '${gid}'`);
    try {
      const { big, events } = await copy({ ...target, user: role, password: 'pw' });
      expect(big.error).toBeNull();
      expect(await digestOf(target)).toEqual(sourceDigest);
      expect(events.some((e) => e.type === 'prepared-settled')).toBe(false);
      expect(await prepared(target)).toEqual([gid]);
    } finally {
      await sql(target, `ROLLBACK PREPARED '${gid}'`);
      await sql(target, `DROP OWNED BY ${role}; DROP ROLE ${role}`);
    }
  });
});
