import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/copy/run.js';
import type { LocalPostgres } from '../../src/demo/local-postgres.js';
import type { RunReport, TableResult } from '../../src/report/events.js';
import { ResumeReport } from '../../src/resume/resume-report.js';
import { testConfig, type TestTarget } from '../support/config.js';
import { servers, sql, uniqueName } from '../support/db.js';
import { terminateCopyBackend } from '../support/faults.js';
import { startPreparingTarget } from '../support/prepared-target.js';
import type { ServerInfo } from '../support/server-info.js';

// Bug: with disableTriggers (session_replication_role = replica, foreign-key checks off), a child
// whose parent was refused by the plan or failed in the run was still loaded and reported done,
// leaving orphan rows on the target.
const PARENTS = 20_000;
/** Every row passes, but the source pauses now and then, so that a test can catch the COPY. */
const PACED = 'CASE WHEN id % 1000 = 0 THEN pg_catalog.pg_sleep(0.02) IS NOT NULL ELSE true END';
const schema = uniqueName('Orphans');
const q = `"${schema}"`;
const s = servers();
let own: LocalPostgres;
let preparing: ServerInfo;

const TABLES = `
  CREATE TABLE ${q}.parent (id int PRIMARY KEY, payload text);
  CREATE TABLE ${q}.child (id int PRIMARY KEY, parent_id int REFERENCES ${q}.parent);
  CREATE TABLE ${q}.grandchild (id int PRIMARY KEY, child_id int REFERENCES ${q}.child);
  CREATE TABLE ${q}.tree (id int PRIMARY KEY, up int REFERENCES ${q}.tree);`;

beforeAll(async () => {
  ({ server: own, info: preparing } = await startPreparingTarget('orphans-target'));
  await sql(
    s.source,
    `CREATE SCHEMA ${q}; ${TABLES}
     INSERT INTO ${q}.parent SELECT g, repeat('p', 200) FROM generate_series(1, ${PARENTS}) g;
     INSERT INTO ${q}.child SELECT g, 1 + g % 100 FROM generate_series(1, 1000) g;
     INSERT INTO ${q}.grandchild SELECT g, 1 + g % 1000 FROM generate_series(1, 1000) g;
     INSERT INTO ${q}.tree SELECT g, NULLIF(g - 1, 0) FROM generate_series(1, 100) g;
     ANALYZE;`,
  );
}, 60_000);

afterAll(async () => {
  await sql(s.source, `DROP SCHEMA ${q} CASCADE`);
  for (const server of [s.target1, s.target2]) {
    await sql(server, `DROP SCHEMA IF EXISTS ${q} CASCADE`);
  }
  await own.stop();
});

/** A fresh target schema with the source's tables, then `extra` SQL (rows of its own, ...). */
async function fresh(server: ServerInfo, extra = ''): Promise<void> {
  await sql(server, `DROP SCHEMA IF EXISTS ${q} CASCADE; CREATE SCHEMA ${q}; ${TABLES} ${extra}`);
}

const count = async (server: ServerInfo, table: string): Promise<number> =>
  ((await sql(server, `SELECT count(*)::int AS n FROM ${q}.${table}`)).rows[0] as { n: number }).n;

/** Rows of `child` whose parent is missing on the target. */
const orphans = async (server: ServerInfo): Promise<number> =>
  (
    (
      await sql(
        server,
        `SELECT count(*)::int AS n FROM ${q}.child c
          WHERE NOT EXISTS (SELECT 1 FROM ${q}.parent p WHERE p.id = c.parent_id)`,
      )
    ).rows[0] as { n: number }
  ).n;

function target(name: string, server: ServerInfo, tables: readonly unknown[]): TestTarget {
  return { name, server, schema, tables };
}

async function copy(
  targets: readonly TestTarget[],
  options: Record<string, unknown> = {},
  more: Parameters<typeof run>[1] = {},
) {
  const config = testConfig({ server: s.source, schema }, targets, {
    disableTriggers: true,
    retries: 0,
    ...options,
  });
  const outcome = await run(config, {
    retryDelays: { baseDelayMs: 10, maxDelayMs: 10 },
    ...more,
  });
  return { ...outcome, report: outcome.report as RunReport, config };
}

function resultOf(report: RunReport, target: string, table: string): TableResult {
  const found = report.tables.find((t) => t.target === target && t.table === table);
  if (!found) throw new Error(`no result for ${target}.${table}`);
  return found;
}

const PARENT_FAILED = (parent: string) =>
  new RegExp(
    `not loaded: its parent table "${parent}" was not copied, and disableTriggers \\(foreign-key checks off\\) would leave orphan rows`,
  );

describe('bug: disableTriggers loads children of a refused or failed parent', () => {
  it('a parent refused by the plan: its children and grandchildren are refused too, naming it (append)', async () => {
    // The target's parent needs a value the source lacks: the plan refuses it.
    await fresh(s.target1, `ALTER TABLE ${q}.parent ADD COLUMN must text NOT NULL;`);
    const { plan, report } = await copy([
      target('db_1', s.target1, ['parent', 'child', 'grandchild', 'tree']),
    ]);
    const planned = (table: string) => plan.targets[0]?.tables.find((t) => t.targetTable === table);
    expect(planned('parent')?.errors.join()).toMatch(/NOT NULL without a default/);
    expect(planned('child')?.errors).toEqual([
      'not loaded: its parent table "parent" was not copied, and disableTriggers (foreign-key checks off) would leave orphan rows',
    ]);
    expect(planned('grandchild')?.errors.join()).toMatch(PARENT_FAILED('child'));
    expect(planned('tree')?.errors).toEqual([]);
    expect(resultOf(report, 'db_1', 'child')).toMatchObject({ status: 'error', rows: 0 });
    expect(resultOf(report, 'db_1', 'tree')).toMatchObject({ error: null, rows: 100 });
    expect(await count(s.target1, 'child')).toBe(0);
    expect(await count(s.target1, 'grandchild')).toBe(0);
  });

  it('a parent refused by the plan: a truncate-mode child keeps its rows, refused', async () => {
    await fresh(
      s.target1,
      `ALTER TABLE ${q}.parent ADD COLUMN must text NOT NULL;
       INSERT INTO ${q}.parent VALUES (1, 'kept', 'x'); INSERT INTO ${q}.child VALUES (-1, 1);
       DROP TABLE ${q}.grandchild;`,
    );
    const { report } = await copy([
      target('db_1', s.target1, ['parent', { name: 'child', mode: 'truncate' }]),
    ]);
    expect(resultOf(report, 'db_1', 'child').error?.message).toMatch(PARENT_FAILED('parent'));
    expect(await count(s.target1, 'child')).toBe(1);
  });

  it.each(['append', 'truncate'] as const)(
    'a parent that fails in the run (duplicate key): its %s-mode child and grandchild are not loaded',
    async (mode) => {
      // A truncate-mode child must not be referenced (PostgreSQL refuses its TRUNCATE).
      const dropped = mode === 'truncate' ? `DROP TABLE ${q}.grandchild;` : '';
      await fresh(s.target1, `INSERT INTO ${q}.parent VALUES (1, 'kept'); ${dropped}`);
      const tables =
        mode === 'truncate'
          ? ['parent', { name: 'child', mode }]
          : ['parent', 'child', 'grandchild', 'tree'];
      const { plan, report } = await copy([target('db_1', s.target1, tables)], {}, {});
      const child = plan.targets[0]?.tables.find((t) => t.targetTable === 'child');
      expect(child?.notes).toContain(
        'disableTriggers: not loaded if "parent" is not copied in this run (foreign-key checks are off, its rows would be orphans)',
      );
      expect(resultOf(report, 'db_1', 'parent')).toMatchObject({
        status: 'error',
        error: { sqlstate: '23505' },
      });
      expect(resultOf(report, 'db_1', 'child')).toMatchObject({
        status: 'error',
        rows: 0,
        error: { code: 'PARENT_NOT_LOADED' },
      });
      expect(resultOf(report, 'db_1', 'child').error?.message).toMatch(PARENT_FAILED('parent'));
      if (mode === 'append') {
        expect(resultOf(report, 'db_1', 'grandchild').error?.message).toMatch(
          PARENT_FAILED('child'),
        );
        expect(resultOf(report, 'db_1', 'tree')).toMatchObject({ error: null, rows: 100 });
      }
      expect(await count(s.target1, 'child')).toBe(0);
      expect(await orphans(s.target1)).toBe(0);
    },
  );

  it.each(['dblink', 'fdw'] as const)(
    'strategy %s: a child of a parent that fails in the run is not loaded either',
    async (strategy) => {
      await fresh(s.target1, `INSERT INTO ${q}.parent VALUES (1, 'kept');`);
      const { report } = await copy([target('db_1', s.target1, ['parent', 'child'])], {
        strategy,
        createExtensions: true,
      });
      expect(resultOf(report, 'db_1', 'parent').error?.sqlstate).toBe('23505');
      expect(resultOf(report, 'db_1', 'child').error?.message).toMatch(PARENT_FAILED('parent'));
      expect(await count(s.target1, 'child')).toBe(0);
    },
  );

  it('with disableTriggers off the child runs as before and fails on its own foreign-key check', async () => {
    await fresh(s.target1, `INSERT INTO ${q}.parent VALUES (1, 'kept');`);
    const { plan, report } = await copy([target('db_1', s.target1, ['parent', 'child'])], {
      disableTriggers: false,
    });
    expect(plan.targets[0]?.tables.flatMap((t) => t.notes ?? [])).not.toContainEqual(
      expect.stringMatching(/orphans/),
    );
    expect(resultOf(report, 'db_1', 'child')).toMatchObject({
      status: 'error',
      error: { sqlstate: '23503' },
    });
    expect(await orphans(s.target1)).toBe(0);
  });

  it('a parent read once for two targets fails on one: only that target skips the child', async () => {
    await fresh(s.target1, `INSERT INTO ${q}.parent VALUES (1, 'kept');`);
    await fresh(s.target2);
    const { plan, report } = await copy(
      [
        target('db_1', s.target1, ['parent', 'child']),
        target('db_2', s.target2, ['parent', 'child']),
      ],
      { concurrency: 2 },
    );
    expect(plan.readOnce?.shared.map((r) => r.source)).toEqual(['parent', 'child']);
    expect(resultOf(report, 'db_1', 'child').error?.message).toMatch(PARENT_FAILED('parent'));
    expect(resultOf(report, 'db_2', 'parent')).toMatchObject({ error: null, rows: PARENTS });
    expect(resultOf(report, 'db_2', 'child')).toMatchObject({ error: null, rows: 1000 });
    expect(await count(s.target1, 'child')).toBe(0);
    expect(await count(s.target2, 'child')).toBe(1000);
  });

  it('a split parent that fails: its child is not loaded', async () => {
    await fresh(preparing, `INSERT INTO ${q}.parent VALUES (${PARENTS}, 'kept');`);
    const { plan, report } = await copy(
      [
        target('db_1', preparing, [
          { name: 'parent', split: { minBytes: '1MB', parts: 2 } },
          'child',
        ]),
      ],
      { concurrency: 2 },
    );
    expect(plan.targets[0]?.tables[0]?.split?.parts).toBe(2);
    expect(resultOf(report, 'db_1', 'parent').error?.sqlstate).toBe('23505');
    expect(resultOf(report, 'db_1', 'child').error?.message).toMatch(PARENT_FAILED('parent'));
    expect(await count(preparing, 'child')).toBe(0);
  });

  it('a parent that fails once and succeeds on its retry does not hold its child back', async () => {
    await fresh(s.target1);
    const pending = copy([target('db_1', s.target1, [{ name: 'parent', where: PACED }, 'child'])], {
      retries: 1,
    });
    expect(await terminateCopyBackend(s.target1, `${schema}"."parent`)).toBe(true);
    const { report } = await pending;
    expect(resultOf(report, 'db_1', 'parent')).toMatchObject({ error: null, attempts: 2 });
    expect(resultOf(report, 'db_1', 'child')).toMatchObject({ error: null, rows: 1000 });
  });

  it('resume: a child skipped for its parent copies once the parent does; a parent done earlier does not block', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pgcopy-orphans-'));
    try {
      await fresh(s.target1, `INSERT INTO ${q}.parent VALUES (1, 'kept');`);
      const tables = ['parent', 'child', 'grandchild'];
      const first = await copy([target('db_1', s.target1, tables)]);
      expect(resultOf(first.report, 'db_1', 'child').error?.code).toBe('PARENT_NOT_LOADED');
      await writeFile(join(dir, 'first.json'), JSON.stringify(first.report));
      // The parent loads now; the grandchild fails on a key of its own.
      await sql(
        s.target1,
        `DELETE FROM ${q}.parent; INSERT INTO ${q}.parent VALUES (-1, 'p');
         INSERT INTO ${q}.child VALUES (-1, -1); INSERT INTO ${q}.grandchild VALUES (1, -1);`,
      );
      const second = await copy(
        [target('db_1', s.target1, tables)],
        {},
        {
          resume: await ResumeReport.read(join(dir, 'first.json')),
        },
      );
      expect(second.report.tables.map((t) => [t.table, t.error?.sqlstate ?? 'ok'])).toEqual([
        ['parent', 'ok'],
        ['child', 'ok'],
        ['grandchild', '23505'],
      ]);
      // On resume its parents are skipped as done: they do not hold it back.
      await writeFile(join(dir, 'second.json'), JSON.stringify(second.report));
      await sql(s.target1, `DELETE FROM ${q}.grandchild`);
      const third = await copy(
        [target('db_1', s.target1, tables)],
        {},
        {
          resume: await ResumeReport.read(join(dir, 'second.json')),
        },
      );
      expect(
        third.report.tables.map((t) => [t.table, t.error?.code ?? 'ok', t.resumed ?? false]),
      ).toEqual([
        ['parent', 'ok', true],
        ['child', 'ok', true],
        ['grandchild', 'ok', false],
      ]);
      expect(await count(s.target1, 'grandchild')).toBe(1000);
      expect(await orphans(s.target1)).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
