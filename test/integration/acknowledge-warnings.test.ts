import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/validate.js';
import { run } from '../../src/copy/run.js';
import { UNCLASSIFIED_WARNING } from '../../src/report/warning-codes.js';
import { cli, workDir } from '../support/cli.js';
import { endpointOf } from '../support/config.js';
import { servers, sql, uniqueName } from '../support/db.js';
import { result } from '../support/report.js';

const s = servers();
const schema = uniqueName('acknowledge');
const q = `"${schema}"`;

/**
 * Two tables whose target has a column of its own (TARGET_ONLY_COLUMNS), one of them also a
 * column the target lacks (SOURCE_ONLY_COLUMNS), and an empty one (ZERO_ROWS).
 */
beforeAll(async () => {
  await sql(
    s.source,
    `CREATE SCHEMA ${q};
     CREATE TABLE ${q}.orders (id int PRIMARY KEY, total int);
     CREATE TABLE ${q}.items (id int PRIMARY KEY, only_source text);
     CREATE TABLE ${q}.empty (id int PRIMARY KEY);
     INSERT INTO ${q}.orders SELECT g, g FROM generate_series(1, 5) g;
     INSERT INTO ${q}.items SELECT g, 'x' FROM generate_series(1, 5) g;`,
  );
  for (const target of [s.target1, s.target2]) {
    await sql(
      target,
      `CREATE SCHEMA ${q};
       CREATE TABLE ${q}.orders (id int PRIMARY KEY, total int, loaded_at timestamptz DEFAULT now());
       CREATE TABLE ${q}.items (id int PRIMARY KEY, note text);
       CREATE TABLE ${q}.empty (id int PRIMARY KEY);`,
    );
  }
});

afterAll(async () => {
  for (const server of [s.source, s.target1, s.target2]) {
    await sql(server, `DROP SCHEMA ${q} CASCADE`);
  }
});

function copy(
  levels: {
    run?: readonly string[];
    target?: readonly string[];
    orders?: readonly string[];
  },
  tables: readonly string[] = ['orders', 'items'],
) {
  return run(
    validateConfig({
      source: endpointOf(s.source, schema),
      targets: [
        {
          name: 'db_1',
          ...endpointOf(s.target1, schema),
          tables: tables.map((name) =>
            name === 'orders' && levels.orders ? { name, acknowledge: levels.orders } : name,
          ),
          ...(levels.target ? { acknowledge: levels.target } : {}),
        },
      ],
      options: { mode: 'truncate', ...(levels.run ? { acknowledge: levels.run } : {}) },
    }),
  );
}

describe('warnings have stable codes; acknowledge turns an expected one into done', () => {
  it('bug: every realistic run ended "with warnings"; each warning carries its code in the report', async () => {
    const { report } = await copy({});
    const orders = result(report, 'orders');
    expect(orders.status).toBe('warnings');
    expect(orders.warnings).toEqual(['target-only columns left to their defaults: "loaded_at"']);
    expect(orders.warningCodes).toEqual(['TARGET_ONLY_COLUMNS']);
    expect(orders.acknowledged).toBeUndefined();
    expect(result(report, 'items').warningCodes).toEqual([
      'SOURCE_ONLY_COLUMNS',
      'TARGET_ONLY_COLUMNS',
    ]);
    expect(report?.status).toBe('warnings');
  });

  it.each([
    ['run (options.acknowledge)', { run: ['TARGET_ONLY_COLUMNS:orders'] }],
    ['target', { target: ['TARGET_ONLY_COLUMNS:orders'] }],
    ['table', { orders: ['TARGET_ONLY_COLUMNS'] }],
  ])(
    'acknowledged at %s level: the table is done and the report still lists the warning',
    async (_level, levels) => {
      const { report } = await copy(levels);
      const orders = result(report, 'orders');
      expect(orders.status).toBe('done');
      expect(orders.warnings).toEqual(['target-only columns left to their defaults: "loaded_at"']);
      expect(orders.warningCodes).toEqual(['TARGET_ONLY_COLUMNS']);
      expect(orders.acknowledged).toEqual(['TARGET_ONLY_COLUMNS']);
      // items has the same warning, not acknowledged (CODE:orders, or orders' own list), and one more.
      expect(result(report, 'items').status).toBe('warnings');
      expect(report?.status).toBe('warnings');
    },
  );

  it('a table stays "with warnings" while any of its warnings is unacknowledged; all acknowledged: the run is done', async () => {
    const partly = await copy({ target: ['TARGET_ONLY_COLUMNS'] });
    const items = result(partly.report, 'items');
    expect(items.status).toBe('warnings');
    expect(items.acknowledged).toEqual(['TARGET_ONLY_COLUMNS']);
    expect(result(partly.report, 'orders').status).toBe('done');
    const all = await copy({ run: ['TARGET_ONLY_COLUMNS', 'SOURCE_ONLY_COLUMNS:items'] });
    expect(all.report?.tables.map((t) => t.status)).toEqual(['done', 'done']);
    expect(all.report?.status).toBe('done');
  });

  it('a warning of the copy itself (ZERO_ROWS) is acknowledged the same way', async () => {
    const plain = await copy({}, ['empty']);
    expect(result(plain.report, 'empty')).toMatchObject({
      status: 'warnings',
      warningCodes: ['ZERO_ROWS'],
    });
    const acknowledged = await copy({ run: ['ZERO_ROWS'] }, ['empty']);
    expect(result(acknowledged.report, 'empty')).toMatchObject({
      status: 'done',
      warnings: ['zero rows copied'],
      acknowledged: ['ZERO_ROWS'],
    });
  });

  it.each(['stream', 'dblink', 'fdw', 'fdw-push'] as const)(
    'strategy %s (stream: with split configured), one source table for two targets: acknowledged on one target only',
    async (strategy) => {
      const targetOf = (name: string, server: typeof s.target1, acknowledge: string[]) => ({
        name,
        ...endpointOf(server, schema),
        tables: ['orders'],
        acknowledge,
      });
      const { report } = await run(
        validateConfig({
          source: endpointOf(s.source, schema),
          targets: [
            targetOf('db_1', s.target1, ['TARGET_ONLY_COLUMNS']),
            targetOf('db_2', s.target2, []),
          ],
          options: {
            mode: 'truncate',
            strategy,
            createExtensions: true,
            ...(strategy === 'stream' ? { split: { minBytes: 0, parts: 2 } } : {}),
          },
        }),
      );
      const statuses = report?.tables.map((t) => [t.target, t.status, t.rows, t.acknowledged]);
      expect(statuses).toEqual([
        ['db_1', 'done', 5, ['TARGET_ONLY_COLUMNS']],
        ['db_2', 'warnings', 5, undefined],
      ]);
    },
  );

  it('no warning of these runs is unclassified', async () => {
    const { report } = await copy({}, ['orders', 'items', 'empty']);
    const codes = report?.tables.flatMap((t) => t.warningCodes ?? []) ?? [];
    expect(codes.length).toBeGreaterThan(0);
    expect(codes).not.toContain(UNCLASSIFIED_WARNING);
  });

  it('the CLI: an unknown code is a config error naming the key; the audit log says what was acknowledged', async () => {
    const work = await workDir({});
    try {
      const { writeFile } = await import('node:fs/promises');
      const config = (acknowledge: string[]) =>
        JSON.stringify({
          source: endpointOf(s.source, schema),
          targets: [{ name: 'db_1', ...endpointOf(s.target1, schema), tables: ['orders'] }],
          options: { mode: 'truncate', acknowledge, logDir: join(work.dir, 'log') },
        });
      await writeFile(work.file, config(['TARGET_ONLY_COLUMN']));
      const wrong = await cli(['run', '-c', work.file], { cwd: work.dir });
      expect(wrong.code).toBe(2);
      expect(wrong.stderr).toContain(
        'options.acknowledge[0]: unknown warning code "TARGET_ONLY_COLUMN" (did you mean TARGET_ONLY_COLUMNS?)',
      );
      await writeFile(work.file, config(['TARGET_ONLY_COLUMNS']));
      const ok = await cli(['run', '-c', work.file], { cwd: work.dir });
      expect(ok.code).toBe(0);
      const { readdir } = await import('node:fs/promises');
      const [log] = await readdir(join(work.dir, 'log'));
      const audit = await readFile(join(work.dir, 'log', log ?? ''), 'utf8');
      expect(audit).toMatch(
        /✅ Done: db_1\.orders rows=5 .* acknowledged: target-only columns left to their defaults: "loaded_at" \[TARGET_ONLY_COLUMNS\]$/m,
      );
    } finally {
      await work.cleanup();
    }
  });
});
