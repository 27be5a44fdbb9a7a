import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/copy/run.js';
import { planToJson, renderPlan } from '../../src/plan/render-plan.js';
import type { RunReport } from '../../src/report/events.js';
import { ResumeReport } from '../../src/resume/resume-report.js';
import { testConfig, type TestTarget } from '../support/config.js';
import { servers, sql, tableDigest, uniqueName } from '../support/db.js';
import { terminateCopyBackend } from '../support/faults.js';
import type { ServerInfo } from '../support/server-info.js';

// Bug: two tables whose foreign keys point at each other failed in append mode (and every mode
// but truncate): the plan only warned "foreign keys form a cycle ...: loaded without ordering" and
// the run failed both with 23503, each loading in its own transaction before the other's rows
// existed. A cycle now loads as one group (one transaction, checks deferred to COMMIT or off), or
// is refused in the plan with its reason.
const schema = uniqueName('Cycles');
const q = `"${schema}"`;
const s = servers();

const TABLES = (deferrable: boolean): string => {
  const d = deferrable ? ' DEFERRABLE' : '';
  return `
    CREATE TABLE ${q}.cyc_a (id int PRIMARY KEY, b_id int, v text);
    CREATE TABLE ${q}.cyc_b (id int PRIMARY KEY, a_id int REFERENCES ${q}.cyc_a${d}, v text);
    ALTER TABLE ${q}.cyc_a ADD CONSTRAINT a_b FOREIGN KEY (b_id) REFERENCES ${q}.cyc_b${d};
    CREATE TABLE ${q}.cyc_child (id int PRIMARY KEY, a_id int REFERENCES ${q}.cyc_a);
    CREATE TABLE ${q}.tree (id int PRIMARY KEY, up int REFERENCES ${q}.tree);`;
};
const CYCLE = ['cyc_a', 'cyc_b'];
const REASON =
  'foreign keys between "cyc_a", "cyc_b" form a cycle, and its foreign keys are not DEFERRABLE, so neither table can be loaded before the other: make one DEFERRABLE, set disableTriggers, or leave one out';

beforeAll(async () => {
  await sql(
    s.source,
    `CREATE SCHEMA ${q}; ${TABLES(false)}
     INSERT INTO ${q}.cyc_a SELECT g, NULL, 'a' || g FROM generate_series(1, 50) g;
     INSERT INTO ${q}.cyc_b SELECT g, g, 'b' || g FROM generate_series(1, 50) g;
     UPDATE ${q}.cyc_a SET b_id = id;
     INSERT INTO ${q}.cyc_child SELECT g, 1 + g % 50 FROM generate_series(1, 100) g;
     INSERT INTO ${q}.tree SELECT g, NULLIF(g - 1, 0) FROM generate_series(1, 100) g;
     ANALYZE;`,
  );
});

afterAll(async () => {
  await sql(s.source, `DROP SCHEMA ${q} CASCADE`);
  for (const server of [s.target1, s.target2]) {
    await sql(server, `DROP SCHEMA IF EXISTS ${q} CASCADE`);
  }
});

async function fresh(server: ServerInfo, deferrable: boolean, extra = ''): Promise<void> {
  await sql(
    server,
    `DROP SCHEMA IF EXISTS ${q} CASCADE; CREATE SCHEMA ${q}; ${TABLES(deferrable)} ${extra}`,
  );
}

const target = (tables: readonly unknown[], server = s.target1, name = 'db_1'): TestTarget => ({
  name,
  server,
  schema,
  tables,
});

async function copy(
  targets: readonly TestTarget[],
  options: Record<string, unknown> = {},
  more: Parameters<typeof run>[1] = {},
) {
  const config = testConfig({ server: s.source, schema }, targets, {
    mode: 'append',
    retries: 0,
    ...options,
  });
  const outcome = await run(config, {
    retryDelays: { baseDelayMs: 10, maxDelayMs: 10 },
    ...more,
  });
  return { ...outcome, report: outcome.report as RunReport };
}

const outcomes = (report: RunReport, target = 'db_1'): [string, string][] =>
  report.tables
    .filter((t) => t.target === target)
    .map((t) => [t.table, t.error?.sqlstate ?? t.error?.code ?? 'ok']);

async function expectCopied(server: ServerInfo, tables: readonly string[]): Promise<void> {
  for (const table of tables) {
    expect(await tableDigest(server, `SELECT * FROM ${q}.${table}`), table).toEqual(
      await tableDigest(s.source, `SELECT * FROM ${q}.${table}`),
    );
  }
}

async function count(server: ServerInfo, table: string): Promise<number> {
  return (await tableDigest(server, `SELECT * FROM ${q}.${table}`)).count;
}

describe('bug: a foreign-key cycle fails in append mode with 23503 after a plan that only warned', () => {
  it('append: a cycle of keys that are not DEFERRABLE is refused in the plan, naming the cycle and the remedies', async () => {
    await fresh(s.target1, false);
    const { plan, report } = await copy([target([...CYCLE, 'cyc_child', 'tree'])]);
    const tables = plan.targets[0]?.tables ?? [];
    expect(tables.map((t) => [t.targetTable, t.errors])).toEqual([
      ['cyc_a', [REASON]],
      ['cyc_b', [REASON]],
      [
        'cyc_child',
        [
          `not loaded: its parent table "cyc_a" is refused in this plan, so its rows would point at parent rows this run does not copy (they would fail its foreign key, or match other rows the target holds); copy "cyc_a" too, or leave this table out`,
        ],
      ],
      ['tree', []],
    ]);
    expect(tables.flatMap((t) => t.warnings)).not.toContainEqual(expect.stringMatching(/cycle/));
    expect(outcomes(report)).toEqual([
      ['cyc_a', 'PLAN'],
      ['cyc_b', 'PLAN'],
      // Its parent is refused: so is it, in the plan, rather than failing its key in the run.
      ['cyc_child', 'PLAN'],
      // A self-reference is no cycle between tables: it loads as before.
      ['tree', 'ok'],
    ]);
    await expectCopied(s.target1, ['tree']);
    expect(await count(s.target1, 'cyc_a')).toBe(0);
  });

  it('every mode but truncate: a cycle of DEFERRABLE keys loads as one group, checked at COMMIT', async () => {
    for (const mode of ['append', 'upsert', 'insert-new'] as const) {
      await fresh(s.target1, true);
      const { plan, report } = await copy([target([...CYCLE, 'cyc_child', 'tree'])], { mode });
      const planned = plan.targets[0];
      expect(planned?.loadGroups, mode).toEqual([{ tables: CYCLE, deferred: true }]);
      expect(planned?.truncateGroups, mode).toBeUndefined();
      expect(planned?.tables.flatMap((t) => t.warnings)).not.toContainEqual(
        expect.stringMatching(/cycle/),
      );
      expect(planned?.tables.find((t) => t.targetTable === 'cyc_child')?.loadsAfter).toEqual([
        'cyc_a',
      ]);
      expect(outcomes(report), mode).toEqual([
        ['cyc_a', 'ok'],
        ['cyc_b', 'ok'],
        ['cyc_child', 'ok'],
        ['tree', 'ok'],
      ]);
      await expectCopied(s.target1, [...CYCLE, 'cyc_child', 'tree']);
    }
    // Keyed modes again over the copied rows: staged per member, in the group's one transaction.
    await sql(s.source, `UPDATE ${q}.cyc_b SET v = 'changed' WHERE id <= 5`);
    try {
      const again = await copy([target(CYCLE)], { mode: 'upsert' });
      expect(outcomes(again.report)).toEqual([
        ['cyc_a', 'ok'],
        ['cyc_b', 'ok'],
      ]);
      expect(again.report.tables[1]?.changes).toEqual({ inserted: 0, updated: 5, unchanged: 45 });
      await expectCopied(s.target1, CYCLE);
    } finally {
      await sql(s.source, `UPDATE ${q}.cyc_b SET v = 'b' || id WHERE id <= 5`);
    }
  });

  it.each(['dblink', 'fdw'] as const)(
    'strategy %s loads a cycle in its one target transaction, in upsert and append modes',
    async (strategy) => {
      await fresh(s.target1, true);
      for (const mode of ['upsert', 'append'] as const) {
        if (mode === 'append') await sql(s.target1, `TRUNCATE ${q}.cyc_a, ${q}.cyc_b CASCADE`);
        const { plan, report } = await copy([target(CYCLE)], {
          mode,
          strategy,
          createExtensions: true,
        });
        expect(plan.targets[0]?.loadGroups, mode).toEqual([{ tables: CYCLE, deferred: true }]);
        expect(outcomes(report), mode).toEqual([
          ['cyc_a', 'ok'],
          ['cyc_b', 'ok'],
        ]);
        await expectCopied(s.target1, CYCLE);
      }
    },
  );

  it('the plan says so: a load group in text and JSON, without the truncate group keys', async () => {
    await fresh(s.target1, true);
    const { plan } = await copy([target(CYCLE)], {}, { dryRun: true });
    const text = renderPlan(plan);
    expect(text).toContain(
      '⧉ load group "cyc_a", "cyc_b": loaded in this order in one transaction (all or nothing), its foreign-key cycle checked at COMMIT',
    );
    expect(planToJson(plan)).toMatchObject({
      targets: [
        {
          truncateGroups: [],
          loadGroups: [{ tables: CYCLE, deferred: true }],
          tables: [{ loadGroup: CYCLE }, { loadGroup: CYCLE }],
        },
      ],
    });
  });

  it('one DEFERRABLE key is enough: the parent of the other key loads first, in the one transaction', async () => {
    await fresh(
      s.target1,
      false,
      `ALTER TABLE ${q}.cyc_b ALTER CONSTRAINT cyc_b_a_id_fkey DEFERRABLE;`,
    );
    const { plan, report } = await copy([target(CYCLE)]);
    expect(plan.targets[0]?.loadGroups).toEqual([{ tables: ['cyc_b', 'cyc_a'], deferred: true }]);
    expect(outcomes(report)).toEqual([
      ['cyc_a', 'ok'],
      ['cyc_b', 'ok'],
    ]);
    await expectCopied(s.target1, CYCLE);
  });

  it('append with disableTriggers on each member: the cycle loads as one group with checks off', async () => {
    await fresh(s.target1, false);
    const { plan, report } = await copy([target(CYCLE)], { disableTriggers: true });
    expect(plan.targets[0]?.loadGroups).toEqual([{ tables: CYCLE }]);
    expect(outcomes(report)).toEqual([
      ['cyc_a', 'ok'],
      ['cyc_b', 'ok'],
    ]);
    await expectCopied(s.target1, CYCLE);
  });

  it('a failure in one member rolls back the whole cycle', async () => {
    // The target refuses some of cyc_b's rows: cyc_a, loaded first, is rolled back with it.
    await fresh(s.target1, true, `ALTER TABLE ${q}.cyc_b ADD CONSTRAINT few CHECK (id < 40);`);
    const { report } = await copy([target(CYCLE)]);
    expect(outcomes(report)).toEqual([
      ['cyc_a', 'GROUP_ROLLED_BACK'],
      ['cyc_b', '23514'],
    ]);
    expect(report.tables[0]?.error?.message).toBe(
      'not copied: "cyc_b" failed, and its load group "cyc_a", "cyc_b" is loaded as a whole or not at all (rolled back)',
    );
    expect(await count(s.target1, 'cyc_a')).toBe(0);
    expect(await count(s.target1, 'cyc_b')).toBe(0);
  });

  it('a transient failure runs the whole cycle again: rolled back, then loaded once', async () => {
    await fresh(s.target1, true);
    // The source pauses on each row of cyc_b, so that the test can catch its COPY.
    const pending = copy(
      [target(['cyc_a', { name: 'cyc_b', where: 'pg_catalog.pg_sleep(0.01) IS NOT NULL' }])],
      { retries: 1 },
    );
    expect(await terminateCopyBackend(s.target1, `${schema}"."cyc_b`)).toBe(true);
    const { report } = await pending;
    expect(report.tables.map((t) => [t.table, t.error, t.attempts])).toEqual([
      ['cyc_a', null, 2],
      ['cyc_b', null, 2],
    ]);
    await expectCopied(s.target1, CYCLE);
  });

  it('verify, resume and two targets: group members verify, resume together and read on their own', async () => {
    await fresh(s.target1, true);
    await fresh(s.target2, true);
    const targets = [target(CYCLE), target(CYCLE, s.target2, 'db_2')];
    const dir = await mkdtemp(join(tmpdir(), 'pgcopy-cycles-'));
    try {
      const first = await copy(targets, {}, { verify: true });
      expect(first.report.tables.map((t) => t.verified?.rows)).toEqual([50, 50, 50, 50]);
      expect(first.plan.readOnce?.shared ?? []).toEqual([]);
      expect(first.plan.readOnce?.separate.map((p) => p.reason)).toEqual(
        Array(4).fill(
          'it is in a load group ("cyc_a", "cyc_b"), whose tables load one after another in one target transaction',
        ),
      );
      expect([...outcomes(first.report), ...outcomes(first.report, 'db_2')]).toEqual([
        ['cyc_a', 'ok'],
        ['cyc_b', 'ok'],
        ['cyc_a', 'ok'],
        ['cyc_b', 'ok'],
      ]);
      await expectCopied(s.target1, CYCLE);
      await expectCopied(s.target2, CYCLE);
      await writeFile(join(dir, 'first.json'), JSON.stringify(first.report));
      const resumed = await copy(
        targets,
        {},
        {
          resume: await ResumeReport.read(join(dir, 'first.json')),
        },
      );
      expect(resumed.report.tables.every((t) => t.resumed === true)).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
