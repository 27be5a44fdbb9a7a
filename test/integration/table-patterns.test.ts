import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, workDir } from '../support/cli.js';
import { endpointOf } from '../support/config.js';
import { servers, sql, uniqueName } from '../support/db.js';

const s = servers();
const schema = uniqueName('Patterns');
const q = `"${schema}"`;
const cleanups: (() => Promise<void>)[] = [];

const DDL = `
  CREATE SCHEMA ${q};
  CREATE TABLE ${q}.orders_2024 (id int PRIMARY KEY, v text);
  CREATE TABLE ${q}.orders_2025 (id int PRIMARY KEY, v text);
  CREATE TABLE ${q}.orders_archive (id int PRIMARY KEY, v text);
  CREATE TABLE ${q}."Customers" (id int PRIMARY KEY);
  CREATE TABLE ${q}.events (id int, at date) PARTITION BY RANGE (at);
  CREATE TABLE ${q}.events_2024 PARTITION OF ${q}.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
  CREATE VIEW ${q}.orders_view AS SELECT * FROM ${q}.orders_2024;`;

interface PlanJson {
  patterns: { target: string; pattern: string; matched: string[] }[];
  targets: { name: string; tables: { source: string; mode: string }[] }[];
}

async function run(args: string[], tables: unknown[], extra: Record<string, unknown> = {}) {
  const w = await workDir({
    source: endpointOf(s.source, schema),
    targets: [{ name: 'db_1', ...endpointOf(s.target1, schema), tables, ...extra }],
    options: { logDir: 'logs' },
  });
  cleanups.push(w.cleanup);
  return cli([...args, '-c', w.file], { cwd: w.dir });
}

beforeAll(async () => {
  await sql(
    s.source,
    `${DDL}
     INSERT INTO ${q}.orders_2024 SELECT g, 'a' FROM generate_series(1, 30) g;
     INSERT INTO ${q}.orders_2025 SELECT g, 'b' FROM generate_series(1, 20) g;
     INSERT INTO ${q}.orders_archive SELECT g, 'c' FROM generate_series(1, 10) g;`,
  );
  await sql(s.target1, DDL);
});

afterAll(async () => {
  for (const c of cleanups) await c();
  for (const server of [s.source, s.target1]) await sql(server, `DROP SCHEMA ${q} CASCADE`);
});

describe('bug: every table had to be listed by hand; tables may hold glob patterns', () => {
  it('a pattern expands against the source tables (not views, not partitions), sorted, minus exclude', async () => {
    const result = await run(['plan', '--json'], ['orders_*'], { exclude: ['*_archive'] });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const plan = JSON.parse(result.stdout) as PlanJson;
    expect(plan.patterns).toEqual([
      { target: 'db_1', pattern: 'orders_*', matched: ['orders_2024', 'orders_2025'] },
    ]);
    expect(plan.targets[0]?.tables.map((t) => t.source)).toEqual(['orders_2024', 'orders_2025']);
  });

  it('* selects every table, the partitioned parent but not its partition; ? is one character', async () => {
    const all = JSON.parse((await run(['plan', '--json'], ['*'])).stdout) as PlanJson;
    expect(all.patterns[0]?.matched).toEqual([
      'Customers',
      'events',
      'orders_2024',
      'orders_2025',
      'orders_archive',
    ]);
    const one = JSON.parse((await run(['plan', '--json'], ['orders_202?'])).stdout) as PlanJson;
    expect(one.patterns[0]?.matched).toEqual(['orders_2024', 'orders_2025']);
  });

  it('an explicit entry wins over a pattern for its settings, and is planned once', async () => {
    const result = await run(
      ['plan', '--json'],
      ['orders_*', { name: 'orders_2025', mode: 'truncate' }],
    );
    const plan = JSON.parse(result.stdout) as PlanJson;
    expect(plan.targets[0]?.tables.map((t) => [t.source, t.mode])).toEqual([
      ['orders_2025', 'truncate'],
      ['orders_2024', 'append'],
      ['orders_archive', 'append'],
    ]);
  });

  it('a pattern that matches nothing is a warning in the plan, not an error', async () => {
    const result = await run(['plan'], ['Customers', 'invoices_*']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      `⚠ Target db_1: pattern invoices_* matched no table in source schema ${schema}`,
    );
    const running = await run(['run', '--quiet'], ['Customers', 'invoices_*']);
    expect(running.code).toBe(0);
    expect(running.stderr).toBe(
      `pgcopy: warning: Target db_1: pattern invoices_* matched no table in source schema ${schema}\n`,
    );
    const shown = await run(['plan'], ['orders_2*']);
    expect(shown.stdout).toContain(
      'Target db_1: pattern orders_2* matched orders_2024, orders_2025',
    );
  });

  it('run copies what the patterns matched', async () => {
    const result = await run(['run', '--quiet', '--mode', 'truncate'], ['orders_*'], {
      exclude: ['orders_archive'],
    });
    expect(result.code).toBe(0);
    const counts = await sql(
      s.target1,
      `SELECT (SELECT count(*)::int FROM ${q}.orders_2024) AS a,
              (SELECT count(*)::int FROM ${q}.orders_2025) AS b,
              (SELECT count(*)::int FROM ${q}.orders_archive) AS c`,
    );
    expect(counts.rows[0]).toEqual({ a: 30, b: 20, c: 0 });
  });
});
