import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/types.js';
import { run, type RunOptions } from '../../src/copy/run.js';
import { renderPlan } from '../../src/plan/render-plan.js';
import type { RunReport } from '../../src/report/events.js';
import { ResumeReport } from '../../src/resume/resume-report.js';
import type { LocalPostgres } from '../../src/demo/local-postgres.js';
import { startPreparingTarget } from '../support/prepared-target.js';
import { testConfig, type TestTarget } from '../support/config.js';
import { servers, sql, tableDigest, uniqueName } from '../support/db.js';
import { terminateCopyBackend } from '../support/faults.js';
import type { ServerInfo } from '../support/server-info.js';

// A shared read whose members map the source's columns differently (columns.rename, exclude):
// each target must get the values of the source columns its own mapping names.
const ROWS = 3_000;
const schema = uniqueName('Read Once Renames');
const other = uniqueName('Read Once Renames 3');
const q = `"${schema}"`;
const s = servers();
/** Every row passes; the source pauses now and then, so the COPY is still running when looked for. */
const SLOW = 'CASE WHEN id % 100 = 0 THEN pg_catalog.pg_sleep(0.02) IS NOT NULL ELSE true END';

beforeAll(async () => {
  await sql(
    s.source,
    `CREATE SCHEMA ${q};
     CREATE TABLE ${q}.t (id int PRIMARY KEY, a text, b text, c int);
     INSERT INTO ${q}.t SELECT g, 'a' || g, 'b' || g, g * 10 FROM generate_series(1, ${ROWS}) g;`,
  );
});

afterAll(async () => {
  await sql(s.source, `DROP SCHEMA ${q} CASCADE`);
  for (const server of [s.target1, s.target2]) {
    await sql(
      server,
      `DROP SCHEMA IF EXISTS ${q} CASCADE; DROP SCHEMA IF EXISTS "${other}" CASCADE`,
    );
  }
});

interface Member {
  readonly name: string;
  readonly server: ServerInfo;
  readonly schema: string;
  /** The target table's columns (CREATE TABLE body). */
  readonly ddl: string;
  readonly table: Record<string, unknown>;
  /** The source's rows as this member must hold them: a select list over the source table. */
  readonly expect: string;
  /** The same columns read back from the target table. */
  readonly check: string;
  readonly setup?: string;
}

const relation = (m: Member): string => `"${m.schema}".t`;

async function freshTargets(members: readonly Member[]): Promise<void> {
  for (const m of members) {
    await sql(
      m.server,
      `DROP SCHEMA IF EXISTS "${m.schema}" CASCADE; CREATE SCHEMA "${m.schema}";
       CREATE TABLE ${relation(m)} (${m.ddl}); ${m.setup ?? ''}`,
    );
  }
}

function configOf(members: readonly Member[], options: Record<string, unknown> = {}): Config {
  const targets: TestTarget[] = members.map((m) => ({
    name: m.name,
    server: m.server,
    schema: m.schema,
    tables: [{ name: 't', where: SLOW, ...m.table }],
  }));
  return testConfig({ server: s.source, schema }, targets, {
    mode: 'truncate',
    retries: 0,
    ...options,
  });
}

async function copy(
  members: readonly Member[],
  options: Record<string, unknown> = {},
  runOptions: RunOptions = {},
): Promise<{ report: RunReport; plan: Awaited<ReturnType<typeof run>>['plan'] }> {
  const outcome = await run(configOf(members, options), {
    retryDelays: { baseDelayMs: 10, maxDelayMs: 20 },
    signal: new AbortController().signal,
    ...runOptions,
  });
  if (!outcome.report) throw new Error('no report');
  return { report: outcome.report, plan: outcome.plan };
}

/** Each member's rows on its target, next to what the source says they must be. */
async function actualAndExpected(
  members: readonly Member[],
): Promise<{ actual: unknown[]; expected: unknown[] }> {
  const actual: unknown[] = [];
  const expected: unknown[] = [];
  for (const m of members) {
    actual.push(await tableDigest(m.server, `SELECT ${m.check} FROM ${relation(m)}`));
    expected.push(await tableDigest(s.source, `SELECT ${m.expect} FROM ${q}.t`));
  }
  return { actual, expected };
}

const outcomes = (report: RunReport): unknown[] =>
  report.tables.map((t) => [t.target, t.rows, t.error?.message ?? null]);

/** The case: target one writes source b into its a; target two takes source a as a. */
const bIntoA = (id = 'int'): Member[] => [
  {
    name: 'one',
    server: s.target1,
    schema,
    ddl: `id ${id} PRIMARY KEY, a text`,
    table: { columns: { exclude: ['a'], rename: { b: 'a' } } },
    expect: 'id, b',
    check: 'id, a',
  },
  {
    name: 'two',
    server: s.target2,
    schema,
    ddl: `id ${id} PRIMARY KEY, a text`,
    table: {},
    expect: 'id, a',
    check: 'id, a',
  },
];

describe('bug: a shared read combined its members by target column name, read with the first member’s renames', () => {
  it('binary: target one writes source b into its a, target two takes source a: each gets its own source column', async () => {
    const members = bIntoA();
    await freshTargets(members);
    const { report, plan } = await copy(members);
    expect(outcomes(report)).toEqual([
      ['one', ROWS, null],
      ['two', ROWS, null],
    ]);
    // The read is keyed by source columns: b for one, a for two, each read once.
    expect(plan.readOnce?.shared).toEqual([
      {
        source: 't',
        format: 'binary',
        columns: ['id', 'b', 'a'],
        pairs: [
          { target: 'one', table: 't' },
          { target: 'two', table: 't' },
        ],
      },
    ]);
    expect(renderPlan(plan)).toContain(
      '⇉ t: read once for one.t, two.t (binary, 3 source columns)',
    );
    const { actual, expected } = await actualAndExpected(members);
    expect(actual).toEqual(expected);
  });

  it('text: the same mapping in COPY text format', async () => {
    // bigint keys on both targets: the types differ from the source's, so both copy in text.
    const members = bIntoA('bigint');
    await freshTargets(members);
    const { report, plan } = await copy(members);
    expect(report.tables.map((t) => [t.target, t.format, t.error])).toEqual([
      ['one', 'text', null],
      ['two', 'text', null],
    ]);
    expect(plan.readOnce?.shared.map((r) => r.columns)).toEqual([['id', 'b', 'a']]);
    const { actual, expected } = await actualAndExpected(members);
    expect(actual).toEqual(expected);
  });

  it('two renames swapped (a -> b, b -> a), the same source column under another name elsewhere, a plain target', async () => {
    const members: Member[] = [
      {
        name: 'one',
        server: s.target1,
        schema,
        ddl: 'id int PRIMARY KEY, a text, b text, c int',
        table: { columns: { rename: { a: 'b', b: 'a' } } },
        expect: 'id, b AS a, a AS b, c',
        check: 'id, a, b, c',
      },
      {
        name: 'two',
        server: s.target2,
        schema,
        ddl: 'c int, b text, a text, id int PRIMARY KEY',
        table: {},
        expect: 'id, a, b, c',
        check: 'id, a, b, c',
      },
      {
        name: 'three',
        server: s.target1,
        schema: other,
        ddl: 'id int PRIMARY KEY, x text, c int',
        table: { columns: { exclude: ['b'], rename: { a: 'x', c: 'id', id: 'c' } } },
        expect: 'c AS id, a AS x, id AS c',
        check: 'id, x, c',
      },
    ];
    await freshTargets(members);
    const { report, plan } = await copy(members);
    expect(report.tables.map((t) => [t.target, t.error])).toEqual([
      ['one', null],
      ['two', null],
      ['three', null],
    ]);
    expect(plan.readOnce?.shared.map((r) => r.pairs.length)).toEqual([3]);
    const { actual, expected } = await actualAndExpected(members);
    expect(actual).toEqual(expected);
  });

  it('a rename in one target and an exclude in the other', async () => {
    const members: Member[] = [
      {
        name: 'one',
        server: s.target1,
        schema,
        ddl: 'id int PRIMARY KEY, b text, c int',
        table: { columns: { exclude: ['b'], rename: { a: 'b' } } },
        expect: 'id, a AS b, c',
        check: 'id, b, c',
      },
      {
        name: 'two',
        server: s.target2,
        schema,
        ddl: 'id int PRIMARY KEY, b text, c int',
        table: { columns: { exclude: ['a'] } },
        expect: 'id, b, c',
        check: 'id, b, c',
      },
    ];
    await freshTargets(members);
    const { report } = await copy(members);
    expect(report.tables.map((t) => t.error)).toEqual([null, null]);
    const { actual, expected } = await actualAndExpected(members);
    expect(actual).toEqual(expected);
  });

  it('run --verify on a shared read compares each target with its own source columns', async () => {
    const members = bIntoA();
    await freshTargets(members);
    const { report, plan } = await copy(members, {}, { verify: true });
    expect(plan.readOnce?.shared.map((r) => r.pairs.length)).toEqual([2]);
    expect(report.tables.map((t) => [t.target, t.error, t.verified?.rows])).toEqual([
      ['one', null, ROWS],
      ['two', null, ROWS],
    ]);
    const { actual, expected } = await actualAndExpected(members);
    expect(actual).toEqual(expected);
  });

  it("a member retried alone (its target's backend terminated mid-stream) reads its own columns", async () => {
    const members = bIntoA();
    await freshTargets(members);
    const pending = copy(members, { retries: 1 });
    expect(await terminateCopyBackend(s.target1, schema)).toBe(true);
    const { report } = await pending;
    expect(report.tables.map((t) => [t.target, t.error, t.attempts])).toEqual([
      ['one', null, 2],
      ['two', null, 1],
    ]);
    const { actual, expected } = await actualAndExpected(members);
    expect(actual).toEqual(expected);
  });

  it('a member split into parts reads on its own, with its own renames; the others still share', async () => {
    // Split parts commit together through prepared transactions: a target of its own allows them.
    let own: LocalPostgres | undefined;
    try {
      const started = await startPreparingTarget('read-once-renames-split');
      own = started.server;
      await splitOff(started.info);
    } finally {
      await own?.stop();
    }
  }, 60_000);

  async function splitOff(preparing: ServerInfo): Promise<void> {
    const members: Member[] = [
      ...bIntoA(),
      {
        name: 'three',
        server: preparing,
        schema: other,
        ddl: 'id int PRIMARY KEY, a text, b text',
        table: { columns: { rename: { a: 'b', b: 'a' } }, split: { minBytes: '1B', parts: 2 } },
        expect: 'id, b AS a, a AS b',
        check: 'id, a, b',
      },
    ];
    await freshTargets(members);
    // Append: truncate mode does not split (TRUNCATE's lock would hold the other parts back).
    const { report, plan } = await copy(members, { mode: 'append', concurrency: 3 });
    expect(report.tables.map((t) => [t.target, t.error])).toEqual([
      ['one', null],
      ['two', null],
      ['three', null],
    ]);
    expect(plan.readOnce?.separate.map((r) => [r.target, r.reason])).toEqual([
      ['three', 'it is split into 2 parts, each a read of its own'],
    ]);
    const { actual, expected } = await actualAndExpected(members);
    expect(actual).toEqual(expected);
  }

  it('run --resume: the members still to copy share a read keyed by their own source columns', async () => {
    // A row already there on two and three fails them in append mode; one copies.
    const clash = `INSERT INTO ${q}.t (id) VALUES (${ROWS});`;
    const members: Member[] = [
      {
        name: 'one',
        server: s.target2,
        schema: other,
        ddl: 'id int PRIMARY KEY, a text',
        table: {},
        expect: 'id, a',
        check: 'id, a',
      },
      { ...(bIntoA()[1] as Member), setup: clash },
      { ...(bIntoA()[0] as Member), name: 'three', setup: clash },
    ];
    // three (b into a) on target1, two (a) on target2: both fail in the first run.
    await freshTargets(members);
    const first = await copy(members, { mode: 'append' });
    expect(first.report.tables.map((t) => [t.target, t.error?.sqlstate ?? null])).toEqual([
      ['one', null],
      ['two', '23505'],
      ['three', '23505'],
    ]);
    for (const m of members.slice(1)) await sql(m.server, `DELETE FROM ${relation(m)}`);
    const dir = await mkdtemp(join(tmpdir(), 'pgcopy-resume-'));
    try {
      const path = join(dir, 'first.json');
      await writeFile(path, JSON.stringify(first.report));
      const { report } = await copy(
        members,
        { mode: 'append' },
        { resume: await ResumeReport.read(path) },
      );
      expect(report.tables.map((t) => [t.target, t.error, t.resumed ?? false])).toEqual([
        ['one', null, true],
        ['two', null, false],
        ['three', null, false],
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const { actual, expected } = await actualAndExpected(members);
    expect(actual).toEqual(expected);
  });
});
