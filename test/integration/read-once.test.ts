import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/copy/run.js';
import { planToJson, renderPlan } from '../../src/plan/render-plan.js';
import type { RunReport, TableResult } from '../../src/report/events.js';
import { testConfig, type TestTarget } from '../support/config.js';
import { connect, servers, sql, tableDigest, uniqueName } from '../support/db.js';
import { leftoverSessions, terminateCopyBackend } from '../support/faults.js';
import type { ServerInfo } from '../support/server-info.js';

// Read once, write many: one source table, two targets taking different columns of it.
const ROWS = 20_000;
const schema = uniqueName('Read Once');
const q = `"${schema}"`;
const s = servers();
/** Every row passes, but the source pauses now and then: the COPY is still running when looked for. */
const PACED = 'CASE WHEN id % 500 = 0 THEN pg_catalog.pg_sleep(0.002) IS NOT NULL ELSE true END';
/** Slower still (about a second in all), for the tests that look for the COPY to interrupt it. */
const SLOW = 'CASE WHEN id % 200 = 0 THEN pg_catalog.pg_sleep(0.01) IS NOT NULL ELSE true END';

/** Mixed values: NULLs, tabs, newlines and backslashes in text, bytea, numerics, timestamps, json. */
const T1_COLUMNS = `id, "Name", blob, doc`;
const T2_COLUMNS = `id, price, at, note`;
/** The source's rows as each target takes them. */
let expected: unknown[] = [];

const WIDE = `(id int PRIMARY KEY, "Name" text, price numeric(12,2), blob bytea, at timestamptz, doc jsonb, note text)`;

beforeAll(async () => {
  await sql(
    s.source,
    `CREATE SCHEMA ${q};
     CREATE TABLE ${q}.wide ${WIDE};
     INSERT INTO ${q}.wide
       SELECT g, CASE WHEN g % 11 = 0 THEN NULL ELSE E'n\\t' || g || E'\\n\\\\x' END, g * 1.25,
              CASE WHEN g % 7 = 0 THEN NULL ELSE decode(lpad(to_hex(g), 8, '0'), 'hex') END,
              TIMESTAMPTZ '2020-01-01 00:00:00+00' + g * INTERVAL '1 minute',
              jsonb_build_object('g', g, 's', repeat('j', g % 13)),
              CASE WHEN g % 3 = 0 THEN '' ELSE repeat('z', g % 40) END
         FROM generate_series(1, ${ROWS}) g;
     CREATE TABLE ${q}.narrow (id int, v text);
     INSERT INTO ${q}.narrow SELECT g, E'v\\t' || g FROM generate_series(1, 500) g;
     ANALYZE ${q}.wide;`,
  );
  expected = [
    await tableDigest(s.source, `SELECT ${T1_COLUMNS} FROM ${q}.wide`),
    await tableDigest(s.source, `SELECT ${T2_COLUMNS} FROM ${q}.wide`),
  ];
});

afterAll(async () => {
  await sql(s.source, `DROP SCHEMA ${q} CASCADE`);
  for (const server of [s.target1, s.target2]) {
    await sql(server, `DROP SCHEMA IF EXISTS ${q} CASCADE`);
  }
});

/** Fresh target tables: target1 takes some columns of `wide`, target2 others (in its own order). */
async function freshTargets(types: { id: string } = { id: 'int' }, extra = ''): Promise<void> {
  await sql(
    s.target1,
    `DROP SCHEMA IF EXISTS ${q} CASCADE; CREATE SCHEMA ${q};
     CREATE TABLE ${q}.wide (id ${types.id} PRIMARY KEY, "Name" text, blob bytea, doc jsonb, t1_only text DEFAULT 'mine');
     CREATE TABLE ${q}.narrow (id int, v text);`,
  );
  await sql(
    s.target2,
    `DROP SCHEMA IF EXISTS ${q} CASCADE; CREATE SCHEMA ${q};
     CREATE TABLE ${q}.wide (note text, at timestamptz, id ${types.id} PRIMARY KEY, price numeric(12,2));
     CREATE TABLE ${q}.narrow (id int, v text);
     ${extra}`,
  );
}

function targets(tables: readonly unknown[] = [{ name: 'wide', where: PACED }]): TestTarget[] {
  return [
    { name: 'one', server: s.target1, schema, tables },
    { name: 'two', server: s.target2, schema, tables },
  ];
}

async function copy(
  options: Record<string, unknown> = {},
  tables?: readonly unknown[],
): Promise<{ report: RunReport; plan: Awaited<ReturnType<typeof run>>['plan'] }> {
  const config = testConfig({ server: s.source, schema }, targets(tables), {
    mode: 'truncate',
    ...options,
  });
  // A signal, as the CLI gives: the shared read's abortable paths are the ones that run.
  const outcome = await run(config, {
    retryDelays: { baseDelayMs: 10, maxDelayMs: 20 },
    signal: new AbortController().signal,
  });
  if (!outcome.report) throw new Error('no report');
  return { report: outcome.report, plan: outcome.plan };
}

const pairOf = (report: RunReport, target: string, table = 'wide'): TableResult => {
  const found = report.tables.find((t) => t.target === target && t.table === table);
  if (!found) throw new Error(`no result for ${target}.${table}`);
  return found;
};

const digests = async (): Promise<unknown[]> => [
  await tableDigest(s.target1, `SELECT ${T1_COLUMNS} FROM ${q}.wide`),
  await tableDigest(s.target2, `SELECT ${T2_COLUMNS} FROM ${q}.wide`),
];

/** The source table's scans and rows read so far, once every backend has reported them. */
async function sourceReads(): Promise<{ scans: number; rows: number }> {
  let last = '';
  for (let i = 0; i < 100; i += 1) {
    const { rows } = await sql(
      s.source,
      `SELECT seq_scan::int AS scans, seq_tup_read::int AS rows FROM pg_stat_user_tables
        WHERE schemaname = $1 AND relname = 'wide'`,
      [schema],
    );
    const now = JSON.stringify(rows[0]);
    // pgcopy's backends report their counts as they exit: the same figure twice is settled.
    if (now === last) return rows[0] as { scans: number; rows: number };
    last = now;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error('the source statistics never settled');
}

describe('read once, write many (options.readOnce)', () => {
  it('binary: one read of the source serves two targets with different columns, each as its own read would', async () => {
    await freshTargets();
    const before = await sourceReads();
    const { report, plan } = await copy();
    const after = await sourceReads();
    expect(pairOf(report, 'one')).toMatchObject({ error: null, rows: ROWS, format: 'binary' });
    expect(pairOf(report, 'two')).toMatchObject({ error: null, rows: ROWS, format: 'binary' });
    // One scan of the source table, for both targets.
    expect(after.scans - before.scans).toBe(1);
    expect(after.rows - before.rows).toBe(ROWS);
    expect(plan.readOnce?.shared).toEqual([
      {
        source: 'wide',
        format: 'binary',
        columns: ['id', 'Name', 'blob', 'doc', 'price', 'at', 'note'],
        pairs: [
          { target: 'one', table: 'wide' },
          { target: 'two', table: 'wide' },
        ],
      },
    ]);
    expect(renderPlan(plan)).toContain(
      '⇉ wide: read once for one.wide, two.wide (binary, 7 source columns)',
    );
    expect(planToJson(plan)).toMatchObject({ readOnce: { enabled: true } });
    const shared = await digests();
    expect(
      await tableDigest(s.target1, `SELECT count(*) FROM ${q}.wide WHERE t1_only <> 'mine'`),
    ).toMatchObject({ count: 1 });
    expect(shared).toEqual(expected);

    // The same copy with one read per target writes the same rows, and reads the source twice.
    await freshTargets();
    const separateBefore = await sourceReads();
    const separate = await copy({ readOnce: false });
    const separateAfter = await sourceReads();
    expect(separate.report.tables.map((t) => t.error)).toEqual([null, null]);
    expect(separateAfter.scans - separateBefore.scans).toBe(2);
    expect(separate.plan.readOnce).toMatchObject({ enabled: false, shared: [] });
    expect(renderPlan(separate.plan)).toContain(
      '↛ wide: read separately for one.wide: options.readOnce is false',
    );
    expect(await digests()).toEqual(shared);
  });

  it('text: the rows of a text read are split per target on COPY text framing', async () => {
    // bigint keys on both targets: the types differ from the source's, so both copy in text.
    await freshTargets({ id: 'bigint' });
    const before = await sourceReads();
    const { report } = await copy();
    const after = await sourceReads();
    expect(pairOf(report, 'one')).toMatchObject({ error: null, rows: ROWS, format: 'text' });
    expect(pairOf(report, 'two')).toMatchObject({ error: null, rows: ROWS, format: 'text' });
    const shared = await digests();
    expect(shared).toEqual(expected);
    // The plan samples the source to check the conversions (a scan of its own, the same either
    // way); the copy itself reads the table once instead of twice.
    await freshTargets({ id: 'bigint' });
    await copy({ readOnce: false });
    const separate = await sourceReads();
    expect(separate.scans - after.scans).toBe(after.scans - before.scans + 1);
    expect(separate.rows - after.rows).toBe(after.rows - before.rows + ROWS);
    expect(await digests()).toEqual(shared);
  });

  it('a target that takes every column gets the rows whole; a table with the same columns everywhere too', async () => {
    await freshTargets();
    const { report, plan } = await copy({}, ['narrow']);
    expect(plan.readOnce?.shared.map((r) => r.columns)).toEqual([['id', 'v']]);
    expect(report.tables.map((t) => [t.target, t.status, t.rows])).toEqual([
      ['one', 'done', 500],
      ['two', 'done', 500],
    ]);
    const expected = await tableDigest(s.source, `SELECT * FROM ${q}.narrow`);
    expect(await tableDigest(s.target1, `SELECT * FROM ${q}.narrow`)).toEqual(expected);
    expect(await tableDigest(s.target2, `SELECT * FROM ${q}.narrow`)).toEqual(expected);
  });

  it.runIf(s.pg15)('a PostgreSQL 15 target shares the read of a PostgreSQL 17 source', async () => {
    const old = s.pg15 as ServerInfo;
    await freshTargets();
    await sql(
      old,
      `DROP SCHEMA IF EXISTS ${q} CASCADE; CREATE SCHEMA ${q};
       CREATE TABLE ${q}.wide (id int PRIMARY KEY, price numeric(12,2), at timestamptz, note text);`,
    );
    try {
      const config = testConfig({ server: s.source, schema }, [
        { name: 'one', server: s.target1, schema, tables: ['wide'] },
        { name: 'old', server: old, schema, tables: ['wide'] },
      ]);
      const { plan, report } = await run(config);
      expect(plan.readOnce?.shared.map((r) => r.pairs.map((p) => p.target))).toEqual([
        ['one', 'old'],
      ]);
      expect(report?.tables.map((t) => [t.target, t.error, t.rows])).toEqual([
        ['one', null, ROWS],
        ['old', null, ROWS],
      ]);
      expect(await tableDigest(old, `SELECT ${T2_COLUMNS} FROM ${q}.wide`)).toEqual(expected[1]);
    } finally {
      await sql(old, `DROP SCHEMA ${q} CASCADE`);
    }
  });

  it('bug: one target failing mid-stream (unique violation) stopped the other: it is detached, the other completes', async () => {
    // target2 holds a row whose key the source sends late: its COPY fails part-way through.
    await freshTargets({ id: 'int' }, `INSERT INTO ${q}.wide (id) VALUES (${ROWS - 10});`);
    const { report } = await copy({ mode: 'append' });
    expect(pairOf(report, 'one')).toMatchObject({ error: null, rows: ROWS, attempts: 1 });
    const failed = pairOf(report, 'two');
    expect(failed).toMatchObject({ status: 'error', rows: 0, attempts: 1 });
    expect(failed.error?.sqlstate).toBe('23505');
    expect(await tableDigest(s.target1, `SELECT ${T1_COLUMNS} FROM ${q}.wide`)).toEqual(
      expected[0],
    );
    // Rolled back: target2 holds its one row, as before the run.
    expect(await tableDigest(s.target2, `SELECT id FROM ${q}.wide`)).toMatchObject({ count: 1 });
    expect(await leftoverSessions(s.target2, schema)).toBe(0);
    expect(await leftoverSessions(s.source, schema)).toBe(0);
  });

  it('bug: a target that cannot begin (a lock held on its table) held up the shared read: the others go on without it', async () => {
    await freshTargets();
    const holder = await connect(s.target2);
    try {
      await holder.query(`BEGIN; LOCK TABLE ${q}.wide IN ACCESS EXCLUSIVE MODE`);
      const { report } = await copy({ lockTimeout: '300ms', retries: 0 });
      expect(pairOf(report, 'one')).toMatchObject({ error: null, rows: ROWS });
      expect(pairOf(report, 'two')).toMatchObject({ status: 'error', rows: 0 });
      expect(pairOf(report, 'two').error?.sqlstate).toBe('55P03');
    } finally {
      await holder.end();
    }
    expect(await digests()).toEqual([expected[0], { count: 0, md5: '' }]);
  });

  it("bug: one target's backend terminated mid-stream: the other completes, the lost one is retried alone", async () => {
    await freshTargets();
    const before = await sourceReads();
    const pending = copy({ retries: 1 }, [{ name: 'wide', where: SLOW }]);
    expect(await terminateCopyBackend(s.target2, schema)).toBe(true);
    const { report } = await pending;
    const after = await sourceReads();
    expect(pairOf(report, 'one')).toMatchObject({ error: null, rows: ROWS, attempts: 1 });
    expect(pairOf(report, 'two')).toMatchObject({ error: null, rows: ROWS, attempts: 2 });
    // The shared read, then target2's read of its own.
    expect(after.scans - before.scans).toBe(2);
    expect(await digests()).toEqual(expected);
    expect(await leftoverSessions(s.source, schema)).toBe(0);
  });

  it('the source backend terminated mid-stream fails both targets, and each is retried alone', async () => {
    await freshTargets();
    const pending = copy({ retries: 1 }, [{ name: 'wide', where: SLOW }]);
    expect(await terminateCopyBackend(s.source, schema)).toBe(true);
    const { report } = await pending;
    expect(pairOf(report, 'one')).toMatchObject({ error: null, rows: ROWS, attempts: 2 });
    expect(pairOf(report, 'two')).toMatchObject({ error: null, rows: ROWS, attempts: 2 });
    expect(await leftoverSessions(s.source, schema)).toBe(0);
  });
});
