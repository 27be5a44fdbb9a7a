import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/copy/run.js';
import { planToJson, renderPlan } from '../../src/plan/render-plan.js';
import type { RunEvent, RunReport, TableResult } from '../../src/report/events.js';
import { ResumeReport } from '../../src/resume/resume-report.js';
import { cli, cliWithConfig, workDir } from '../support/cli.js';
import { endpointOf, testConfig, type TestTarget } from '../support/config.js';
import { servers, sql, tableDigest, uniqueName } from '../support/db.js';
import { leftoverSessions, terminateCopyBackend } from '../support/faults.js';
import type { ServerInfo } from '../support/server-info.js';

// Bug: truncate on a whole schema barely worked: every table another table's foreign key
// references was refused ("referenced by a foreign key"), and its children then failed. A
// selection closed under the target's foreign keys is now replaced as a group.
const schema = uniqueName('Groups');
const q = `"${schema}"`;
const s = servers();
/** Every row passes, but the source pauses now and then, so that a test can catch the COPY. */
const PACED = 'CASE WHEN id % 100 = 0 THEN pg_catalog.pg_sleep(0.02) IS NOT NULL ELSE true END';

/** A foreign-key tree (orders is partitioned), a self-reference and a table of its own. */
const TABLES = `
  CREATE TABLE ${q}.region (id int PRIMARY KEY, name text);
  CREATE TABLE ${q}.customer (id int PRIMARY KEY, region_id int REFERENCES ${q}.region, name text);
  CREATE TABLE ${q}.orders (id int PRIMARY KEY, customer_id int REFERENCES ${q}.customer) PARTITION BY RANGE (id);
  CREATE TABLE ${q}.orders_low PARTITION OF ${q}.orders FOR VALUES FROM (MINVALUE) TO (1000);
  CREATE TABLE ${q}.orders_high PARTITION OF ${q}.orders FOR VALUES FROM (1000) TO (MAXVALUE);
  CREATE TABLE ${q}.product (id int PRIMARY KEY, label text);
  CREATE TABLE ${q}.order_line (id int PRIMARY KEY, order_id int REFERENCES ${q}.orders,
                                product_id int REFERENCES ${q}.product, qty int);
  CREATE TABLE ${q}.tree (id int PRIMARY KEY, up int REFERENCES ${q}.tree);
  CREATE TABLE ${q}.note (id int, body text);`;
/** In the plan's order (the pattern's matches, by name). */
const ALL = ['customer', 'note', 'order_line', 'orders', 'product', 'region', 'tree'];
/** In load order: parents first, otherwise in the plan's order. */
const GROUP = ['region', 'customer', 'orders', 'product', 'order_line'];
const LISTED = GROUP.map((t) => `"${t}"`).join(', ');

/** Rows of the target's own, which a replaced group must not keep. */
const TARGET_ROWS = `
  INSERT INTO ${q}.region VALUES (-1, 'old');
  INSERT INTO ${q}.customer VALUES (-1, -1, 'old');
  INSERT INTO ${q}.orders VALUES (-1, -1);
  INSERT INTO ${q}.product VALUES (-1, 'old');
  INSERT INTO ${q}.order_line VALUES (-1, -1, -1, 0);
  INSERT INTO ${q}.tree VALUES (-1, NULL);
  INSERT INTO ${q}.note VALUES (-1, 'old');`;

beforeAll(async () => {
  await sql(
    s.source,
    `CREATE SCHEMA ${q}; ${TABLES}
     INSERT INTO ${q}.region SELECT g, 'r' || g FROM generate_series(1, 10) g;
     INSERT INTO ${q}.customer SELECT g, 1 + g % 10, 'c' || g FROM generate_series(1, 200) g;
     INSERT INTO ${q}.orders SELECT g, 1 + g % 200 FROM generate_series(1, 2000) g;
     INSERT INTO ${q}.product SELECT g, 'p' || g FROM generate_series(1, 50) g;
     INSERT INTO ${q}.order_line SELECT g, 1 + g % 2000, 1 + g % 50, g FROM generate_series(1, 5000) g;
     INSERT INTO ${q}.tree SELECT g, NULLIF(g - 1, 0) FROM generate_series(1, 100) g;
     INSERT INTO ${q}.note SELECT g, 'n' FROM generate_series(1, 100) g;
     ANALYZE;`,
  );
});

afterAll(async () => {
  await sql(s.source, `DROP SCHEMA ${q} CASCADE`);
  for (const server of [s.target1, s.target2]) {
    await sql(server, `DROP SCHEMA IF EXISTS ${q} CASCADE`);
  }
});

async function fresh(server: ServerInfo, extra = ''): Promise<void> {
  await sql(
    server,
    `DROP SCHEMA IF EXISTS ${q} CASCADE; CREATE SCHEMA ${q}; ${TABLES} ${TARGET_ROWS} ${extra}`,
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
    mode: 'truncate',
    retries: 0,
    ...options,
  });
  const events: RunEvent[] = [];
  const outcome = await run(config, {
    retryDelays: { baseDelayMs: 10, maxDelayMs: 10 },
    onEvent: (e) => events.push(e),
    ...more,
  });
  return { ...outcome, report: outcome.report as RunReport, config, events };
}

function resultOf(report: RunReport, table: string, target = 'db_1'): TableResult {
  const found = report.tables.find((t) => t.target === target && t.table === table);
  if (!found) throw new Error(`no result for ${target}.${table}`);
  return found;
}

async function expectCopied(server: ServerInfo, tables: readonly string[]): Promise<void> {
  for (const table of tables) {
    expect(await tableDigest(server, `SELECT * FROM ${q}.${table}`), table).toEqual(
      await tableDigest(s.source, `SELECT * FROM ${q}.${table}`),
    );
  }
}

async function expectUntouched(server: ServerInfo, tables: readonly string[]): Promise<void> {
  for (const table of tables) {
    const { rows } = await sql(server, `SELECT id FROM ${q}.${table}`);
    expect(rows, table).toEqual([{ id: -1 }]);
  }
}

describe('bug: truncate on a whole schema barely works (truncate groups)', () => {
  it('tables: ["*"] in truncate mode replaces the foreign-key tree as one group, in foreign-key order', async () => {
    await fresh(s.target1);
    const { plan, report, events } = await copy([target(['*'])], { concurrency: 3 });
    const planned = plan.targets[0];
    expect(planned?.truncateGroups).toEqual([{ tables: GROUP }]);
    expect(planned?.tables.flatMap((t) => t.errors)).toEqual([]);
    const text = renderPlan(plan);
    expect(text).toContain(
      `⧉ truncate group ${LISTED}: one TRUNCATE, loaded in this order in one transaction (all or nothing)`,
    );
    expect(text).toMatch(/ℹ orders: truncate group .*: truncated in one statement with /);
    expect(planToJson(plan)).toMatchObject({
      targets: [{ truncateGroups: [{ tables: GROUP }] }],
    });
    expect(report.tables.map((t) => [t.table, t.error?.message ?? 'ok'])).toEqual(
      ALL.map((t) => [t, 'ok']),
    );
    expect(resultOf(report, 'order_line').rows).toBe(5000);
    await expectCopied(s.target1, ALL);
    // The group's tables start one after another, in its order, on one connection.
    const starts = events.flatMap((e) => (e.type === 'table-start' ? [e.ref.table] : []));
    const inGroup = starts.filter((t) => GROUP.includes(t));
    expect(inGroup).toEqual(GROUP);
  });

  it('a failure in one member rolls back the whole group; each member says which table failed', async () => {
    // The target refuses some of the source's orders: the group's load fails at run time.
    await fresh(s.target1, `ALTER TABLE ${q}.orders ADD CONSTRAINT few CHECK (id < 1500);`);
    const { report } = await copy([target(['*'])]);
    expect(resultOf(report, 'orders')).toMatchObject({
      status: 'error',
      rows: 0,
      error: { sqlstate: '23514' },
    });
    expect(resultOf(report, 'orders').error?.message).toMatch(
      /^new row for relation "orders_high"/,
    );
    expect(resultOf(report, 'orders').error?.message).toContain(
      `; not copied: this table failed, and its truncate group ${LISTED} is replaced as a whole or not at all (rolled back)`,
    );
    for (const table of ['region', 'customer', 'product', 'order_line']) {
      expect(resultOf(report, table)).toMatchObject({
        status: 'error',
        rows: 0,
        error: {
          code: 'GROUP_ROLLED_BACK',
          message: `not copied: "orders" failed, and its truncate group ${LISTED} is replaced as a whole or not at all (rolled back)`,
        },
      });
    }
    // Loaded before the failure, then rolled back with the group.
    expect(resultOf(report, 'customer').rolledBack?.rows).toBe(200);
    await expectUntouched(s.target1, GROUP);
    await expectCopied(s.target1, ['tree', 'note']);
  });

  it('a selection not closed under the foreign keys stays refused, naming the table outside it', async () => {
    await fresh(s.target1);
    const { plan, report } = await copy([
      target(['region', 'customer', 'note', { name: 'product', mode: 'append' }, 'order_line']),
    ]);
    const errors = Object.fromEntries(
      (plan.targets[0]?.tables ?? []).map((t) => [t.targetTable, t.errors]),
    );
    expect(errors).toEqual({
      region: [
        `truncate: "${schema}"."customer" references this table by foreign key and is not copied (the plan refuses it), so PostgreSQL refuses to TRUNCATE this table (use append or upsert)`,
      ],
      customer: [
        `truncate: "${schema}"."orders" references this table by foreign key and is not among this target's tables, so PostgreSQL refuses to TRUNCATE this table (add it in truncate mode to replace both together, or use append or upsert)`,
      ],
      note: [],
      product: [],
      order_line: [],
    });
    expect(plan.targets[0]?.truncateGroups).toBeUndefined();
    expect(resultOf(report, 'note').error).toBeNull();
    await expectUntouched(s.target1, ['region', 'customer']);
  });

  it('a referencing table in another mode keeps its parent refused; parents outside the selection do not matter', async () => {
    await fresh(s.target1);
    const mixed = await copy([target(['region', { name: 'customer', mode: 'append' }])]);
    expect(mixed.plan.targets[0]?.tables[0]?.errors).toEqual([
      `truncate: "${schema}"."customer" references this table by foreign key and is copied in append mode, so PostgreSQL refuses to TRUNCATE this table (copy both in truncate mode to replace them together, or use append or upsert)`,
    ]);
    // region is not selected: customer references it, which needs no truncate of region (its
    // target rows are what the customers' checks find).
    await fresh(
      s.target1,
      `INSERT INTO ${q}.region SELECT g, 'kept' FROM generate_series(1, 10) g;`,
    );
    const { plan, report } = await copy([target(['customer', 'orders', 'order_line', 'product'])]);
    expect(plan.targets[0]?.truncateGroups).toEqual([
      { tables: ['customer', 'orders', 'product', 'order_line'] },
    ]);
    expect(report.tables.every((t) => t.error === null)).toBe(true);
    await expectCopied(s.target1, ['customer', 'orders', 'order_line', 'product']);
  });

  it('disableTriggers: a group whose parent outside it fails is not loaded at all', async () => {
    await fresh(s.target1, `INSERT INTO ${q}.region VALUES (1, 'kept');`);
    const { report } = await copy(
      [target([{ name: 'region', mode: 'append' }, 'customer', 'orders', 'product', 'order_line'])],
      { disableTriggers: true },
    );
    expect(resultOf(report, 'region').error?.sqlstate).toBe('23505');
    expect(resultOf(report, 'customer').error).toMatchObject({ code: 'PARENT_NOT_LOADED' });
    for (const table of ['orders', 'product', 'order_line']) {
      expect(resultOf(report, table).error, table).toMatchObject({
        code: 'GROUP_ROLLED_BACK',
        message: expect.stringMatching(
          /^not copied: "customer" is not loaded: its parent table "region" was not copied/,
        ) as string,
      });
    }
    await expectUntouched(s.target1, ['customer', 'orders', 'product', 'order_line']);
  });

  it('a whole schema of 40 tables with a web of foreign keys copies exactly in truncate mode, no orphans', async () => {
    const wide = `${schema}_wide`;
    const w = `"${wide}"`;
    // Table i references up to two earlier tables (a fixed pseudo-random pick).
    let seed = 7;
    const next = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
    const ddl: string[] = [`CREATE SCHEMA ${w};`];
    const fill: string[] = [];
    for (let i = 0; i < 40; i += 1) {
      const parents = i === 0 ? [] : [...new Set([next(i), next(i)])].slice(0, 1 + next(2));
      const columns = parents.map((p) => `, p${p} int REFERENCES ${w}.t${p}`).join('');
      ddl.push(`CREATE TABLE ${w}.t${i} (id int PRIMARY KEY${columns});`);
      const values = parents.map((p) => `, 1 + (g * ${p + 3}) % 50`).join('');
      fill.push(`INSERT INTO ${w}.t${i} SELECT g${values} FROM generate_series(1, 50) g;`);
    }
    await sql(s.source, [...ddl, ...fill].join('\n'));
    await sql(
      s.target1,
      [
        ...ddl,
        ...fill.map((f) => f.replace('generate_series(1, 50)', 'generate_series(1, 60)')),
      ].join('\n'),
    );
    try {
      const config = testConfig(
        { server: s.source, schema: wide },
        [{ name: 'db_1', server: s.target1, schema: wide, tables: ['*'] }],
        { mode: 'truncate', concurrency: 3 },
      );
      const { plan, report } = await run(config);
      expect(plan.targets[0]?.tables.flatMap((t) => t.errors)).toEqual([]);
      expect(plan.targets[0]?.truncateGroups?.flatMap((g) => g.tables)).toHaveLength(40);
      expect(report?.tables.filter((t) => t.error !== null)).toEqual([]);
      for (let i = 0; i < 40; i += 1) {
        expect(await tableDigest(s.target1, `SELECT * FROM ${w}.t${i}`), `t${i}`).toEqual(
          await tableDigest(s.source, `SELECT * FROM ${w}.t${i}`),
        );
      }
    } finally {
      await sql(s.source, `DROP SCHEMA ${w} CASCADE`);
      await sql(s.target1, `DROP SCHEMA ${w} CASCADE`);
    }
  });

  it('check and plan --json agree: a closed selection passes check, a table outside it is named', async () => {
    await fresh(s.target1);
    const config = (tables: readonly string[]) => ({
      source: endpointOf(s.source, schema),
      targets: [{ name: 'db_1', ...endpointOf(s.target1, schema), tables }],
      options: { mode: 'truncate' },
    });
    const closed = await cliWithConfig('check', config(GROUP));
    expect(closed.stdout).not.toContain('refuses TRUNCATE');
    expect(closed.code).toBe(0);
    const open = await cliWithConfig('check', config(['region', 'customer']));
    expect(open.code).toBe(1);
    expect(open.stdout).toContain(
      `truncate of ${schema}.customer: the foreign keys of "${schema}".orders reference it`,
    );
    expect(open.stdout).toContain(
      `truncate of ${schema}.region: the foreign keys of "${schema}".customer reference it`,
    );
    const work = await workDir(config(['*']));
    try {
      const plan = await cli(['plan', '-c', work.file, '--json'], { cwd: work.dir });
      expect(plan.code).toBe(0);
      const json = JSON.parse(plan.stdout) as {
        targets: {
          truncateGroups: unknown;
          tables: { target: string; truncateGroup?: unknown }[];
        }[];
      };
      expect(json.targets[0]?.truncateGroups).toEqual([{ tables: GROUP }]);
      expect(json.targets[0]?.tables.find((t) => t.target === 'orders')?.truncateGroup).toEqual(
        GROUP,
      );
    } finally {
      await work.cleanup();
    }
  });

  it.each(['dblink', 'fdw'] as const)(
    'strategy %s loads a group in its one target transaction, verified before its COMMIT',
    async (strategy) => {
      await fresh(s.target1);
      const { report } = await copy(
        [target(GROUP)],
        { strategy, createExtensions: true },
        {
          verify: true,
        },
      );
      for (const table of GROUP) {
        expect(resultOf(report, table), table).toMatchObject({
          error: null,
          strategy,
          verified: { rows: expect.any(Number) as number },
        });
      }
      await expectCopied(s.target1, GROUP);
    },
  );

  it('fdw-push cannot join a group: the referenced tables stay refused, saying why', async () => {
    await fresh(s.target1);
    const { plan } = await copy([target(['region', 'customer'])], {
      strategy: 'fdw-push',
      createExtensions: true,
    });
    expect(plan.targets[0]?.tables[0]?.errors.join()).toMatch(
      /fdw-push \(committing through the source's session\) cannot join/,
    );
  });

  it('a group shares no read with another target; each target replaces its own group', async () => {
    await fresh(s.target1);
    await fresh(s.target2);
    const { plan, report } = await copy([target(GROUP), target(GROUP, s.target2, 'db_2')], {
      concurrency: 2,
    });
    expect(plan.readOnce?.shared).toEqual([]);
    expect(plan.readOnce?.separate.find((r) => r.table === 'orders')?.reason).toMatch(
      /^it is in a truncate group \("region", .*\), whose tables load one after another in one target transaction$/,
    );
    expect(report.tables.every((t) => t.error === null)).toBe(true);
    await expectCopied(s.target1, GROUP);
    await expectCopied(s.target2, GROUP);
  });

  it('a transient failure runs the whole group again', async () => {
    await fresh(s.target1);
    const pending = copy(
      [target(['region', 'customer', { name: 'orders', where: PACED }, 'product', 'order_line'])],
      { retries: 1 },
    );
    expect(await terminateCopyBackend(s.target1, `${schema}"."orders`)).toBe(true);
    const { report, events } = await pending;
    for (const table of GROUP) {
      expect(resultOf(report, table), table).toMatchObject({ error: null, attempts: 2 });
    }
    expect(events.filter((e) => e.type === 'table-retry').map((e) => e.type)).toHaveLength(1);
    await expectCopied(s.target1, GROUP);
  });

  it('an interrupt mid-group rolls the whole group back and leaves no session behind', async () => {
    await fresh(s.target1);
    const controller = new AbortController();
    const pending = copy(
      [target(['region', 'customer', { name: 'orders', where: PACED }, 'product', 'order_line'])],
      {},
      { signal: controller.signal },
    );
    // Abort once the group is loading orders (its earlier members are loaded, not committed).
    for (let waited = 0; waited < 20_000; waited += 10) {
      const { rows } = await sql(
        s.target1,
        `SELECT 1 FROM pg_stat_activity WHERE application_name = 'pgcopy' AND query LIKE $1`,
        [`COPY %${schema}"."orders%`],
      );
      if (rows.length > 0) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    controller.abort();
    const { report } = await pending;
    expect(report.tables.every((t) => t.error !== null && t.rows === 0)).toBe(true);
    expect(resultOf(report, 'orders').error?.code).toBe('ABORTED');
    expect(resultOf(report, 'customer').error?.code).toBe('GROUP_ROLLED_BACK');
    await expectUntouched(s.target1, GROUP);
    expect(await leftoverSessions(s.target1, schema)).toBe(0);
  });

  it('resume: a group is replaced again as a whole unless every member was done', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pgcopy-groups-'));
    try {
      await fresh(s.target1, `ALTER TABLE ${q}.orders ADD CONSTRAINT few CHECK (id < 1500);`);
      const first = await copy([target(['*'])]);
      expect(resultOf(first.report, 'region').error?.code).toBe('GROUP_ROLLED_BACK');
      await writeFile(join(dir, 'first.json'), JSON.stringify(first.report));
      await sql(s.target1, `ALTER TABLE ${q}.orders DROP CONSTRAINT few`);
      const second = await copy(
        [target(['*'])],
        {},
        {
          resume: await ResumeReport.read(join(dir, 'first.json')),
        },
      );
      expect(
        second.report.tables.map((t) => [t.table, t.error?.code ?? 'ok', !!t.resumed]),
      ).toEqual(ALL.map((t) => [t, 'ok', t === 'tree' || t === 'note']));
      await expectCopied(s.target1, ALL);
      await writeFile(join(dir, 'second.json'), JSON.stringify(second.report));
      const third = await copy(
        [target(['*'])],
        {},
        {
          resume: await ResumeReport.read(join(dir, 'second.json')),
        },
      );
      expect(third.report.tables.every((t) => t.resumed === true)).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a foreign-key cycle loads as a group only with DEFERRABLE keys or disableTriggers; otherwise it is refused', async () => {
    const cycle = `
      CREATE TABLE ${q}.cyc_a (id int PRIMARY KEY, b_id int);
      CREATE TABLE ${q}.cyc_b (id int PRIMARY KEY, a_id int REFERENCES ${q}.cyc_a);
      ALTER TABLE ${q}.cyc_a ADD FOREIGN KEY (b_id) REFERENCES ${q}.cyc_b;`;
    await sql(
      s.source,
      `${cycle}
       INSERT INTO ${q}.cyc_a SELECT g, NULL FROM generate_series(1, 10) g;
       INSERT INTO ${q}.cyc_b SELECT g, g FROM generate_series(1, 10) g;
       UPDATE ${q}.cyc_a SET b_id = id;`,
    );
    try {
      await fresh(s.target1, cycle);
      const refused = await copy([target(['cyc_a', 'cyc_b'])]);
      expect(refused.plan.targets[0]?.tables.map((t) => t.errors)).toEqual([
        [
          'truncate: foreign keys between "cyc_a", "cyc_b" form a cycle, so their group "cyc_a", "cyc_b" can only load in one transaction with those checks deferred or off: make those foreign keys DEFERRABLE, or set disableTriggers on each of those tables, or use append or upsert',
        ],
        [
          'truncate: foreign keys between "cyc_a", "cyc_b" form a cycle, so their group "cyc_a", "cyc_b" can only load in one transaction with those checks deferred or off: make those foreign keys DEFERRABLE, or set disableTriggers on each of those tables, or use append or upsert',
        ],
      ]);
      const loaded = await copy([target(['cyc_a', 'cyc_b'])], { disableTriggers: true });
      expect(loaded.plan.targets[0]?.truncateGroups).toEqual([{ tables: ['cyc_a', 'cyc_b'] }]);
      expect(loaded.report.tables.map((t) => t.error)).toEqual([null, null]);
      // In one transaction the cycle needs no order; in append mode too (a load group, no TRUNCATE).
      expect(loaded.plan.targets[0]?.tables.flatMap((t) => t.warnings)).not.toContainEqual(
        expect.stringMatching(/cycle/),
      );
      const appended = await copy([target(['cyc_a', 'cyc_b'])], {
        disableTriggers: true,
        mode: 'append',
      });
      expect(appended.plan.targets[0]?.loadGroups).toEqual([{ tables: ['cyc_a', 'cyc_b'] }]);
      expect(appended.plan.targets[0]?.tables.flatMap((t) => t.warnings)).not.toContainEqual(
        expect.stringMatching(/cycle/),
      );
      await expectCopied(s.target1, ['cyc_a', 'cyc_b']);
      // DEFERRABLE keys: checked at the group's COMMIT, with the checks on.
      await sql(
        s.target1,
        `ALTER TABLE ${q}.cyc_a ALTER CONSTRAINT cyc_a_b_id_fkey DEFERRABLE;
         ALTER TABLE ${q}.cyc_b ALTER CONSTRAINT cyc_b_a_id_fkey DEFERRABLE;
         TRUNCATE ${q}.cyc_a, ${q}.cyc_b;`,
      );
      const deferred = await copy([target(['cyc_a', 'cyc_b'])]);
      expect(deferred.plan.targets[0]?.truncateGroups).toEqual([
        { tables: ['cyc_a', 'cyc_b'], deferred: true },
      ]);
      expect(deferred.report.tables.map((t) => t.error)).toEqual([null, null]);
      await expectCopied(s.target1, ['cyc_a', 'cyc_b']);
      // A row whose parent is missing fails the COMMIT: the whole group is rolled back.
      await sql(
        s.source,
        `ALTER TABLE ${q}.cyc_a DROP CONSTRAINT cyc_a_b_id_fkey;
         UPDATE ${q}.cyc_a SET b_id = 99 WHERE id = 1;`,
      );
      const broken = await copy([target(['cyc_a', 'cyc_b'])]);
      expect(broken.report.tables.map((t) => t.error?.code)).toEqual([
        'GROUP_ROLLED_BACK',
        'GROUP_ROLLED_BACK',
      ]);
      expect(broken.report.tables[0]?.error?.message).toMatch(
        /^not copied: the group's own statements \(BEGIN, TRUNCATE, COMMIT\) failed: .*violates foreign key constraint/,
      );
      expect((await tableDigest(s.target1, `SELECT * FROM ${q}.cyc_a`)).count).toBe(10);
    } finally {
      await sql(s.source, `DROP TABLE ${q}.cyc_a, ${q}.cyc_b CASCADE`);
    }
  });
});
