import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { plan } from '../../src/index.js';
import { run } from '../../src/copy/run.js';
import { STRATEGIES, type Strategy } from '../../src/config/types.js';
import type { RunEvent } from '../../src/report/events.js';
import { auditLine } from '../../src/report/audit-lines.js';
import { renderSummary } from '../../src/report/summary.js';
import { eventToJson } from '../../src/report/event-json.js';
import type { ServerInfo } from '../support/server-info.js';
import { servers, sql, uniqueName } from '../support/db.js';
import { testConfig } from '../support/config.js';

const schema = uniqueName('Upsert Variants');
const q = `"${schema}"`;
const s = servers();

/** Every strategy that can upsert, on the 17 target; stream and dblink on the 15 server as well. */
const KEYED_STRATEGIES = STRATEGIES.filter((x) => x !== 'fdw-push');
const cases: [string, Strategy, ServerInfo | undefined][] = [
  ...KEYED_STRATEGIES.map((x): [string, Strategy, ServerInfo] => ['17', x, s.target1]),
  ['15', 'stream', s.pg15],
];
const targetSchemaOf = (version: string, strategy: Strategy): string =>
  `${schema}_${version}_${strategy}`;

/**
 * Source rows 1-10. On the target: 1-4 as on the source, 5-7 with other values (one differs only in
 * its json, which has no equality operator), 100 the target's own; the same in a partitioned table.
 */
const SOURCE = `CREATE SCHEMA ${q};
  CREATE TABLE ${q}.items (id int PRIMARY KEY, v text, doc json, at date);
  INSERT INTO ${q}.items SELECT g, 'v' || g, json_build_object('g', g), DATE '2024-01-01' + g FROM generate_series(1, 10) g;
  CREATE TABLE ${q}.coded (code text PRIMARY KEY, id int, v text);`;
const targetTables = (tq: string): string => `CREATE SCHEMA ${tq};
  CREATE TABLE ${tq}.upserted (id int PRIMARY KEY, v text, doc json, at date, local text DEFAULT 'new');
  CREATE TABLE ${tq}.parted (id int, v text, doc json, at date, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
  CREATE TABLE ${tq}.parted_a PARTITION OF ${tq}.parted FOR VALUES FROM ('2000-01-01') TO ('2024-01-06');
  CREATE TABLE ${tq}.parted_b PARTITION OF ${tq}.parted FOR VALUES FROM ('2024-01-06') TO ('2030-01-01');
  CREATE TABLE ${tq}.inserted (id int PRIMARY KEY, v text, doc json, at date);
  CREATE TABLE ${tq}.keys_only (id int PRIMARY KEY);
  CREATE TABLE ${tq}.coded (code text PRIMARY KEY, id int GENERATED ALWAYS AS IDENTITY, v text);
  INSERT INTO ${tq}.keys_only VALUES (1), (2);`;
const seed = (tq: string, table: string, local: boolean): string => {
  const extra = local ? `, 'mine'` : '';
  return `TRUNCATE ${tq}.${table};
  INSERT INTO ${tq}.${table} SELECT g, 'v' || g, json_build_object('g', g), DATE '2024-01-01' + g${extra} FROM generate_series(1, 4) g;
  INSERT INTO ${tq}.${table} VALUES (5, 'changed', '{"g": 5}', '2024-01-06'${extra}),
    (6, 'v6', '{"g": "six"}', '2024-01-07'${extra}), (7, NULL, '{"g": 7}', '2024-01-08'${extra}),
    (100, 'own', '{}', '2024-01-01'${extra});`;
};

beforeAll(async () => {
  await sql(s.source, SOURCE);
  for (const [, strategy, server] of cases) {
    if (server)
      await sql(
        server,
        targetTables(`"${targetSchemaOf(server === s.pg15 ? '15' : '17', strategy)}"`),
      );
  }
});

afterAll(async () => {
  await sql(s.source, `DROP SCHEMA ${q} CASCADE`);
  for (const [version, strategy, server] of cases) {
    if (server) await sql(server, `DROP SCHEMA "${targetSchemaOf(version, strategy)}" CASCADE`);
  }
});

/** Each row's id, values and xmin: a row left alone keeps its xmin. */
async function rowsWithXmin(
  server: ServerInfo,
  table: string,
): Promise<{ id: number; v: string | null; doc: string; xmin: string }[]> {
  const { rows } = await sql(
    server,
    `SELECT id, v, doc::text AS doc, xmin::text AS xmin FROM ${table} ORDER BY id`,
  );
  return rows as { id: number; v: string | null; doc: string; xmin: string }[];
}

describe.each(cases)(
  'upsert and insert-new on PostgreSQL %s, strategy %s',
  (version, strategy, server) => {
    const tq = `"${targetSchemaOf(version, strategy)}"`;
    const config = (on: ServerInfo, tables: readonly unknown[]): ReturnType<typeof testConfig> =>
      testConfig(
        { server: s.source, schema },
        [{ name: 'one', server: on, schema: targetSchemaOf(version, strategy), tables }],
        { strategy, createExtensions: true },
      );

    it.skipIf(!server)(
      'upsert updates only the rows that differ (identical rows keep their xmin) and counts inserted, updated and unchanged, in a partitioned target too (which returns no system column)',
      async () => {
        if (!server) return;
        await sql(server, seed(tq, 'upserted', true) + seed(tq, 'parted', false));
        const before = await rowsWithXmin(server, `${tq}.upserted`);
        const beforeParted = await rowsWithXmin(server, `${tq}.parted`);
        const events: RunEvent[] = [];
        const cfg = config(server, [
          { name: 'items', target: 'upserted', mode: 'upsert' },
          { name: 'items', target: 'parted', mode: 'upsert' },
          {
            name: 'items',
            target: 'keys_only',
            mode: 'upsert',
            columns: { exclude: ['v', 'doc', 'at'] },
          },
        ]);
        const { report } = await run(cfg, { verify: true, onEvent: (e) => events.push(e) });
        const changes = { inserted: 3, updated: 3, unchanged: 4 };
        expect(report?.tables.map((t) => [t.table, t.status, t.rows, t.changes, t.error])).toEqual([
          ['upserted', 'warnings', 10, changes, null],
          ['parted', 'done', 10, changes, null],
          ['keys_only', 'done', 10, { inserted: 8, updated: 0, unchanged: 2 }, null],
        ]);
        for (const [table, old] of [
          ['upserted', before],
          ['parted', beforeParted],
        ] as const) {
          const after = await rowsWithXmin(server, `${tq}.${table}`);
          expect(after.map((r) => [r.id, r.v, r.doc])).toEqual([
            ...Array.from({ length: 10 }, (_, i) => [i + 1, `v${i + 1}`, `{"g" : ${i + 1}}`]),
            [100, 'own', '{}'],
          ]);
          // Rows 1-4 were identical and 100 is not in the source: not rewritten.
          const xmin = (rows: typeof after, ids: number[]): string[] =>
            rows.filter((r) => ids.includes(r.id)).map((r) => r.xmin);
          expect(xmin(after, [1, 2, 3, 4, 100])).toEqual(xmin(old, [1, 2, 3, 4, 100]));
          expect(new Set(xmin(after, [5, 6, 7, 8, 9, 10])).size).toBe(1);
          expect(xmin(after, [5])).not.toEqual(xmin(old, [5]));
        }
        // The target-only column of an updated row is kept.
        expect(
          (await sql(server, `SELECT DISTINCT local FROM ${tq}.upserted WHERE id <= 7 ORDER BY 1`))
            .rows,
        ).toEqual([{ local: 'mine' }]);

        // The counts in the events, the audit log line, the run --json event and the summary.
        const done = (table: string): RunEvent => {
          const event = events.find((e) => e.type === 'table-done' && e.result.table === table);
          if (!event) throw new Error(`no table-done event for ${table}`);
          return event;
        };
        expect(auditLine(done('upserted'))).toContain(
          'rows=10 inserted=3 updated=3 unchanged=4 bytes=',
        );
        expect(JSON.stringify(eventToJson(done('parted')))).toContain(
          '"changes":{"inserted":3,"updated":3,"unchanged":4}',
        );
        if (!report) throw new Error('no report');
        const summary = renderSummary(report);
        expect(summary).toContain('  one.upserted (upsert): 3 inserted, 3 updated, 4 unchanged\n');
        expect(summary).toContain('  one.keys_only (upsert): 8 inserted, 0 updated, 2 unchanged\n');

        // A second run finds every row identical: nothing is written.
        const again = await run(cfg, { verify: true });
        expect(again.report?.tables.map((t) => t.changes)).toEqual([
          { inserted: 0, updated: 0, unchanged: 10 },
          { inserted: 0, updated: 0, unchanged: 10 },
          { inserted: 0, updated: 0, unchanged: 10 },
        ]);
      },
    );

    it.skipIf(!server)(
      'insert-new adds the new keys and leaves existing rows as they are (values and xmin)',
      async () => {
        if (!server) return;
        await sql(server, seed(tq, 'inserted', false));
        const before = await rowsWithXmin(server, `${tq}.inserted`);
        const { report } = await run(
          config(server, [{ name: 'items', target: 'inserted', mode: 'insert-new' }]),
          {
            verify: true,
          },
        );
        expect(report?.tables.map((t) => [t.mode, t.status, t.rows, t.changes, t.error])).toEqual([
          ['insert-new', 'done', 10, { inserted: 3, updated: 0, unchanged: 7 }, null],
        ]);
        const after = await rowsWithXmin(server, `${tq}.inserted`);
        expect(after.filter((r) => r.id <= 7 || r.id === 100)).toEqual(before);
        expect(after.filter((r) => r.id > 7 && r.id < 100).map((r) => [r.id, r.v])).toEqual([
          [8, 'v8'],
          [9, 'v9'],
          [10, 'v10'],
        ]);
      },
    );
  },
);

describe('insert-new: plan', () => {
  const schema17 = targetSchemaOf('17', 'stream');
  const planOf = async (
    table: unknown,
    strategy: Strategy = 'stream',
  ): Promise<readonly string[]> => {
    const cfg = testConfig(
      { server: s.source, schema },
      [{ name: 'one', server: s.target1, schema: schema17, tables: [table] }],
      { strategy, createExtensions: true },
    );
    return (await plan(cfg)).targets[0]?.tables[0]?.errors ?? [];
  };

  it('is a plan error for fdw-push, which cannot send ON CONFLICT (key), and without a usable key', async () => {
    expect(
      await planOf({ name: 'items', target: 'inserted', mode: 'insert-new' }, 'fdw-push'),
    ).toEqual([
      'strategy fdw-push: postgres_fdw cannot INSERT ... ON CONFLICT (key) DO NOTHING (it sends no conflict key, nor says which rows were new); use stream, dblink or fdw',
    ]);
    expect(
      await planOf({
        name: 'items',
        target: 'inserted',
        mode: 'insert-new',
        columns: { exclude: ['id'] },
      }),
    ).toEqual([
      'target column "id" is NOT NULL without a default and the source lacks it',
      'insert-new needs a primary key or unique key on the target whose columns are all copied',
    ]);
  });

  it('warns that an upsert keeps the GENERATED ALWAYS identity of existing rows, not insert-new (which updates nothing)', async () => {
    const warningsOf = async (mode: string): Promise<readonly string[]> => {
      const cfg = testConfig({ server: s.source, schema }, [
        { name: 'one', server: s.target1, schema: schema17, tables: [{ name: 'coded', mode }] },
      ]);
      const table = (await plan(cfg)).targets[0]?.tables[0];
      expect(table?.errors).toEqual([]);
      return table?.warnings ?? [];
    };
    const identity =
      'upsert: identity column "id" is GENERATED ALWAYS on the target; existing rows keep theirs';
    expect(await warningsOf('upsert')).toContain(identity);
    expect(await warningsOf('insert-new')).not.toContain(identity);
  });
});
