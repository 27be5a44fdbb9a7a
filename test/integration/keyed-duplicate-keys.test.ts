import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/copy/run.js';
import type { Strategy } from '../../src/config/types.js';
import type { TableResult } from '../../src/report/events.js';
import type { ServerInfo } from '../support/server-info.js';
import { servers, sql, tableDigest, uniqueName } from '../support/db.js';
import { testConfig } from '../support/config.js';

/**
 * Bug: insert-new with two source rows for one key kept an arbitrary one and counted the other as
 * "unchanged" (upsert did the same when the first of them matched an identical target row).
 * Staged rows that repeat a key are an error naming the table, the key and one repeated value, in
 * both keyed modes, on every strategy and through a shared read.
 */
const schema = uniqueName('Keyed Duplicates');
const q = `"${schema}"`;
const s = servers();

const SOURCE = `CREATE SCHEMA ${q};
  CREATE TABLE ${q}.by_id (id int, v text);
  INSERT INTO ${q}.by_id VALUES (1, 'first'), (1, 'second'), (2, 'two'), (3, 'three');
  CREATE TABLE ${q}.by_pair (code text, n int, v text);
  INSERT INTO ${q}.by_pair VALUES ('x y', 1, 'a'), ('x y', 1, 'b'), ('x y', 2, 'c'), ('z', 1, 'd');
  CREATE TABLE ${q}.null_pair (a int, b int, v text);
  INSERT INTO ${q}.null_pair VALUES (1, NULL, 'p'), (1, NULL, 'q'), (2, 1, 'r');
  CREATE TABLE ${q}.null_distinct (a int, b int, v text);
  INSERT INTO ${q}.null_distinct VALUES (1, NULL, 'p'), (2, NULL, 'q'), (3, 1, 'r');
  CREATE TABLE ${q}.clean (id int, v text);
  INSERT INTO ${q}.clean SELECT g, 'v' || g FROM generate_series(1, 6) g;`;

/**
 * The targets: by_id in binary (same types), as text (bigint key) and partitioned; a two-column
 * text key; NULLS NOT DISTINCT keys, where two NULL keys are one key. Each holds id 1 as the
 * source's first row has it, so that one of the repeated rows matches an identical target row.
 */
const TARGET = (tq: string): string => `CREATE SCHEMA ${tq};
  CREATE TABLE ${tq}.by_id (id int PRIMARY KEY, v text);
  CREATE TABLE ${tq}.by_id_text (id bigint PRIMARY KEY, v text);
  CREATE TABLE ${tq}.by_id_parted (id int PRIMARY KEY, v text) PARTITION BY RANGE (id);
  CREATE TABLE ${tq}.by_id_parted_a PARTITION OF ${tq}.by_id_parted FOR VALUES FROM (0) TO (2);
  CREATE TABLE ${tq}.by_id_parted_b PARTITION OF ${tq}.by_id_parted FOR VALUES FROM (2) TO (100);
  CREATE TABLE ${tq}.by_pair (code text, n int, v text, PRIMARY KEY (code, n));
  CREATE TABLE ${tq}.null_pair (a int, b int, v text, UNIQUE NULLS NOT DISTINCT (a, b));
  CREATE TABLE ${tq}.null_distinct (a int, b int, v text, UNIQUE NULLS NOT DISTINCT (a, b));
  CREATE TABLE ${tq}.clean (id int PRIMARY KEY, v text);
  INSERT INTO ${tq}.by_id VALUES (1, 'first');
  INSERT INTO ${tq}.by_id_text VALUES (1, 'first');
  INSERT INTO ${tq}.by_id_parted VALUES (1, 'first');
  INSERT INTO ${tq}.by_pair VALUES ('x y', 1, 'a');
  INSERT INTO ${tq}.null_pair VALUES (1, NULL, 'p');
  INSERT INTO ${tq}.clean VALUES (1, 'v1'), (2, 'v2'), (3, 'changed');`;

const TABLES = [
  { name: 'by_id' },
  { name: 'by_id', target: 'by_id_text' },
  { name: 'by_id', target: 'by_id_parted' },
  { name: 'by_pair' },
  { name: 'null_pair' },
  { name: 'null_distinct' },
  { name: 'clean' },
];
const TARGET_TABLES = TABLES.map((t) => t.target ?? t.name);

const STRATEGIES: Strategy[] = ['stream', 'dblink', 'fdw'];
const MODES = ['insert-new', 'upsert'] as const;
const targetSchema = (strategy: string, mode: string): string => `${schema}_${strategy}_${mode}`;
/** Every keyed strategy on the 17 target; stream on the 15 one (the first with NULLS NOT DISTINCT). */
const CASES: [string, Strategy, ServerInfo][] = [
  ...STRATEGIES.map((x): [string, Strategy, ServerInfo] => ['17', x, s.target1]),
  ...(s.pg15 ? [['15', 'stream', s.pg15] as [string, Strategy, ServerInfo]] : []),
];
const caseSchema = (version: string, strategy: string, mode: string): string =>
  version === '17' ? targetSchema(strategy, mode) : targetSchema(`${version}_${strategy}`, mode);

beforeAll(async () => {
  await sql(s.source, SOURCE);
  for (const [version, strategy, server] of CASES) {
    for (const mode of MODES) {
      await sql(server, TARGET(`"${caseSchema(version, strategy, mode)}"`));
    }
  }
  await sql(s.target2, TARGET(`"${targetSchema('shared', 'upsert')}"`));
});

afterAll(async () => {
  await sql(s.source, `DROP SCHEMA ${q} CASCADE`);
  for (const [version, strategy, server] of CASES) {
    for (const mode of MODES) {
      await sql(server, `DROP SCHEMA "${caseSchema(version, strategy, mode)}" CASCADE`);
    }
  }
  await sql(s.target2, `DROP SCHEMA "${targetSchema('shared', 'upsert')}" CASCADE`);
});

const digests = async (server: ServerInfo, tq: string): Promise<unknown[]> =>
  Promise.all(TARGET_TABLES.map((t) => tableDigest(server, `SELECT * FROM ${tq}.${t}`)));

/** The outcome of each table that repeats a key, and of the two that do not. */
function expectOutcomes(
  tables: readonly TableResult[],
  target: string,
  mode: string,
  tq: string,
): void {
  const of = (table: string): TableResult | undefined =>
    tables.find((t) => t.target === target && t.table === table);
  for (const table of ['by_id', 'by_id_text', 'by_id_parted']) {
    expect(of(table)?.status, table).toBe('error');
    expect(of(table)?.error?.message, table).toBe(
      `${mode}: the rows read hold key ("id")=(1) 2 times (1 key repeats); ` +
        `each key must name one row of ${tq}."${table}"`,
    );
  }
  expect(of('by_pair')?.error?.message).toContain('key ("code", "n")=(x y, 1) 2 times');
  expect(of('null_pair')?.error?.message).toContain('key ("a", "b")=(1, NULL) 2 times');
  // NULL keys that differ elsewhere are distinct keys.
  expect(of('null_distinct')).toMatchObject({
    status: 'done',
    changes: { inserted: 3, updated: 0, unchanged: 0 },
  });
  // Unchanged: only the rows that matched an identical target row (insert-new: any target row).
  expect(of('clean')).toMatchObject({
    status: 'done',
    changes:
      mode === 'upsert'
        ? { inserted: 3, updated: 1, unchanged: 2 }
        : { inserted: 3, updated: 0, unchanged: 3 },
  });
}

describe.each(CASES)(
  'bug: insert-new kept one of two rows with one key, PostgreSQL %s, strategy %s',
  (version, strategy, server) => {
    it.each(MODES)(
      '%s: rows repeating a key fail the table naming the key and a value, and write nothing',
      async (mode) => {
        const name = caseSchema(version, strategy, mode);
        const tq = `"${name}"`;
        const before = await digests(server, tq);
        const config = testConfig(
          { server: s.source, schema },
          [{ name: 'one', server, schema: name, tables: TABLES }],
          { strategy, mode, createExtensions: true, retries: 0 },
        );
        const { report } = await run(config);
        expectOutcomes(report?.tables ?? [], 'one', mode, tq);
        const after = await digests(server, tq);
        // The failed tables are as they were; the two that loaded changed.
        expect(after.slice(0, 5)).toEqual(before.slice(0, 5));
      },
    );
  },
);

describe('bug: insert-new kept one of two rows with one key, through a shared read', () => {
  it('upsert to two targets from one read: each fails the tables that repeat a key', async () => {
    const tables = TABLES.filter((t) => t.target === undefined);
    const config = testConfig(
      { server: s.source, schema },
      [
        { name: 'one', server: s.target1, schema: targetSchema('stream', 'upsert'), tables },
        { name: 'two', server: s.target2, schema: targetSchema('shared', 'upsert'), tables },
      ],
      { mode: 'upsert', retries: 0 },
    );
    await sql(
      s.target1,
      `TRUNCATE "${targetSchema('stream', 'upsert')}".clean;
       INSERT INTO "${targetSchema('stream', 'upsert')}".clean VALUES (1, 'v1'), (2, 'v2'), (3, 'changed')`,
    );
    const { report, plan } = await run(config);
    expect(plan.readOnce?.shared.map((r) => r.source).sort()).toEqual(
      ['by_id', 'by_pair', 'clean', 'null_distinct', 'null_pair'].sort(),
    );
    const of = (target: string, table: string): TableResult | undefined =>
      report?.tables.find((t) => t.target === target && t.table === table);
    for (const target of ['one', 'two']) {
      expect(of(target, 'by_id')?.error?.message).toContain('key ("id")=(1) 2 times');
      expect(of(target, 'by_pair')?.error?.message).toContain('key ("code", "n")=(x y, 1) 2 times');
      expect(of(target, 'null_pair')?.error?.message).toContain('key ("a", "b")=(1, NULL) 2 times');
      expect(of(target, 'clean')).toMatchObject({
        status: 'done',
        changes: { inserted: 3, updated: 1, unchanged: 2 },
      });
    }
  });
});
