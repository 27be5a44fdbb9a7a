import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/copy/run.js';
import type { LocalPostgres } from '../../src/demo/local-postgres.js';
import type { RunEvent, TableResult } from '../../src/report/events.js';
import { testConfig } from '../support/config.js';
import { servers, sql, tableDigest, uniqueName, urlOf } from '../support/db.js';
import { leftoverSessions } from '../support/faults.js';
import { startPreparingTarget } from '../support/prepared-target.js';
import type { ServerInfo } from '../support/server-info.js';

// Split tables commit their parts together through prepared transactions: the suite's targets
// have none, so this file starts a target of its own that has.
const ROWS = 20_000;
const schema = uniqueName('SplitConflicts');
const q = `"${schema}"`;
const s = servers();
let own: LocalPostgres;
let target: ServerInfo;

/**
 * One way two parts' rows collide on a target key: the source table (`v` the column under test,
 * its first and last rows distinct on the source and equal on the target, so that they fall in
 * different parts), the target table, and what the plan must say.
 */
interface Collision {
  readonly name: string;
  readonly source: string;
  readonly target: string;
  readonly first: string;
  readonly last: string;
  /** `v` of the rows between (SQL of `g`, the id): NULL unless NULLs collide too. */
  readonly middle?: string;
  readonly columns?: { readonly exclude?: string[]; readonly rename?: Record<string, string> };
  readonly reason: string;
}

const COLLISIONS: readonly Collision[] = [
  {
    name: 'a rename into the target unique column',
    source: 'v int UNIQUE, w int',
    target: 'v int UNIQUE',
    first: '1, 7',
    last: '2, 7',
    columns: { exclude: ['v'], rename: { w: 'v' } },
    reason: 'is not a unique key of the source (source columns "w")',
  },
  {
    name: 'a nullable source key against a NULLS NOT DISTINCT target index',
    source: 'v int UNIQUE',
    target: 'v int UNIQUE NULLS NOT DISTINCT',
    first: 'NULL',
    last: 'NULL',
    middle: 'g',
    reason: 'allows several NULLs',
  },
  {
    name: 'a case-insensitive ICU collation on the target',
    source: 'v text UNIQUE',
    target: `v text COLLATE ${q}.ci UNIQUE`,
    first: `'Same'`,
    last: `'sAME'`,
    reason: 'column "v", compared by a non-deterministic collation',
  },
  {
    name: 'float8 into float4',
    source: 'v float8 UNIQUE',
    target: 'v float4 UNIQUE',
    first: '1',
    last: '1.000000000001',
    reason: 'converted from double precision to real',
  },
  {
    name: 'numeric into numeric(10,0) (rounding)',
    source: 'v numeric UNIQUE',
    target: 'v numeric(10,0) UNIQUE',
    first: '1.2',
    last: '1.4',
    reason: 'converted from numeric to numeric(10,0)',
  },
  {
    name: 'text into citext',
    source: 'v text UNIQUE',
    target: 'v citext UNIQUE',
    first: `'Same'`,
    last: `'sAME'`,
    reason: 'converted from text to citext',
  },
  {
    name: 'timestamp into date',
    source: 'v timestamp UNIQUE',
    target: 'v date UNIQUE',
    first: `'2024-01-01 10:00'`,
    last: `'2024-01-01 11:00'`,
    reason: 'converted from timestamp without time zone to date',
  },
  {
    name: 'an expression index on the target',
    source: 'v text UNIQUE',
    target: 'v text',
    first: `'Same'`,
    last: `'sAME'`,
    reason: 'its key has an expression',
  },
];

/** The expression case's index, created after its table. */
const EXPRESSION_INDEX = (table: string): string =>
  `CREATE UNIQUE INDEX ON ${q}.${table} (lower(v))`;

const tableOf = (i: number): string => `c${i}`;

beforeAll(async () => {
  ({ server: own, info: target } = await startPreparingTarget('split-conflicts-target'));
  await sql(
    target,
    `CREATE SCHEMA ${q}; CREATE EXTENSION IF NOT EXISTS citext SCHEMA public;
     CREATE COLLATION ${q}.ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);`,
  );
  await sql(s.source, `CREATE SCHEMA ${q}`);
}, 60_000);

afterAll(async () => {
  await sql(s.source, `DROP SCHEMA ${q} CASCADE`);
  await own.stop();
});

async function copySplit(
  table: string,
  columns?: Collision['columns'],
): Promise<{ result: TableResult; reason: string | undefined; parts: number | undefined }> {
  const events: RunEvent[] = [];
  const outcome = await run(
    testConfig(
      { server: s.source, schema },
      [
        {
          name: 'db_1',
          server: target,
          schema,
          tables: [columns ? { name: table, columns } : table],
        },
      ],
      // lockTimeout: a deadline, should the parts wait on each other after all.
      { split: { minBytes: '1MB', parts: 2 }, concurrency: 2, retries: 0, lockTimeout: '10s' },
    ),
    {
      onEvent: (e) => events.push(e),
      signal: AbortSignal.timeout(30_000),
      // Looks all the time: a split that may go ahead must not be taken for parts in conflict
      // (its parts do wait on each other now and then, briefly, to extend the table).
      lockWaitTiming: { reportAfterMs: 60_000, pollMs: 5 },
    },
  );
  const plan = events.find((e) => e.type === 'plan');
  const split = plan?.plan.targets[0]?.tables[0]?.split;
  return {
    result: outcome.report?.tables[0] as TableResult,
    reason: split?.reason,
    parts: split?.parts,
  };
}

const prepared = async (): Promise<unknown[]> =>
  (await sql(target, `SELECT gid FROM pg_prepared_xacts`)).rows as unknown[];

describe('split: parts whose rows collide on a target key stay one stream', () => {
  COLLISIONS.forEach((c, i) => {
    it(`bug: split parts that wait on each other: ${c.name}`, async () => {
      const table = tableOf(i);
      await sql(
        s.source,
        `CREATE TABLE ${q}.${table} (id int PRIMARY KEY, ${c.source}, payload text);
         -- The first row in the first blocks, the last in the last ones: in two parts.
         INSERT INTO ${q}.${table} VALUES (1, ${c.first}, 'first');
         INSERT INTO ${q}.${table} (id, v, payload) SELECT g, ${c.middle ?? 'NULL'}, repeat('p', 100) FROM generate_series(2, ${ROWS - 1}) g;
         INSERT INTO ${q}.${table} VALUES (${ROWS}, ${c.last}, 'last');
         ANALYZE ${q}.${table};`,
      );
      await sql(
        target,
        `CREATE TABLE ${q}.${table} (id int PRIMARY KEY, ${c.target}, payload text);
         ${c.target === 'v text' ? EXPRESSION_INDEX(table) : ''}`,
      );
      const { result, reason, parts } = await copySplit(table, c.columns);
      expect(parts).toBe(1);
      expect(reason).toContain(c.reason);
      // One stream: the collision is a plain unique violation, at once.
      expect(result.error?.sqlstate).toBe('23505');
      expect(await prepared()).toEqual([]);
      expect((await sql(target, `SELECT count(*)::int AS n FROM ${q}.${table}`)).rows).toEqual([
        { n: 0 },
      ]);
    });
  });

  it("bug: split parts that wait on each other: a unique index of the target's partition only", async () => {
    const table = 'parted';
    await sql(
      s.source,
      `CREATE TABLE ${q}.${table} (id int PRIMARY KEY, v int, payload text);
       INSERT INTO ${q}.${table} VALUES (1, 0, 'first');
       INSERT INTO ${q}.${table} SELECT g, g, repeat('p', 100) FROM generate_series(2, ${ROWS - 1}) g;
       INSERT INTO ${q}.${table} VALUES (${ROWS}, 0, 'last');
       ANALYZE ${q}.${table};`,
    );
    // The table's own key (id, v) holds the source's id; one partition has a key of its own.
    await sql(
      target,
      `CREATE TABLE ${q}.${table} (id int, v int, payload text, PRIMARY KEY (id, v)) PARTITION BY RANGE (id);
       CREATE TABLE ${q}.${table}_small PARTITION OF ${q}.${table} FOR VALUES FROM (2) TO (101);
       CREATE TABLE ${q}.${table}_main PARTITION OF ${q}.${table} DEFAULT;
       CREATE UNIQUE INDEX ON ${q}.${table}_main (v);`,
    );
    const { result, reason, parts } = await copySplit(table);
    expect(parts).toBe(1);
    expect(reason).toMatch(/^the target's index parted_main_v_idx is not a unique key/);
    expect(result.error?.sqlstate).toBe('23505');
    expect(await prepared()).toEqual([]);
  });

  it('still splits where a source key proves the rows distinct: through a rename, under NULLS NOT DISTINCT, widened', async () => {
    const table = 'proven';
    await sql(
      s.source,
      `CREATE TABLE ${q}.${table} (id int PRIMARY KEY, w int NOT NULL UNIQUE, payload text);
       INSERT INTO ${q}.${table} SELECT g, -g, repeat('p', 100) FROM generate_series(1, ${ROWS}) g;
       ANALYZE ${q}.${table};`,
    );
    await sql(
      target,
      `CREATE TABLE ${q}.${table} (id bigint PRIMARY KEY, v bigint UNIQUE NULLS NOT DISTINCT, payload text);
       CREATE UNIQUE INDEX ON ${q}.${table} (v, lower(payload)) WHERE id > 0;`,
    );
    const { result, reason, parts } = await copySplit(table, { rename: { w: 'v' } });
    expect(reason).toBeUndefined();
    expect(parts).toBe(2);
    expect(result.error).toBeNull();
    expect(await tableDigest(target, `SELECT id, v, payload FROM ${q}.${table}`)).toEqual(
      await tableDigest(s.source, `SELECT id, w, payload FROM ${q}.${table}`),
    );
  });
});

describe('split: parts that wait on each other all the same fail at once', () => {
  // A key the plan could not see: created on the target after the plan was read, before the copy
  // (synchronously, by psql, while the run's event listener holds the run at its start).
  for (const [kind, constraint] of [
    ['a unique index', 'UNIQUE (k)'],
    [
      'a deferred unique constraint (checked at PREPARE)',
      'UNIQUE (k) DEFERRABLE INITIALLY DEFERRED',
    ],
  ] as const) {
    it(`bug: a part waiting on a lock its sibling part holds fails the table at once: ${kind}`, async () => {
      const table = kind.startsWith('a unique') ? 'late_index' : 'late_deferred';
      await sql(
        s.source,
        `CREATE TABLE ${q}.${table} (id int PRIMARY KEY, k int, payload text);
         INSERT INTO ${q}.${table} VALUES (1, 0, 'first');
         INSERT INTO ${q}.${table} SELECT g, g, repeat('p', 100) FROM generate_series(2, ${ROWS - 1}) g;
         INSERT INTO ${q}.${table} VALUES (${ROWS}, 0, 'last');
         ANALYZE ${q}.${table};`,
      );
      await sql(target, `CREATE TABLE ${q}.${table} (id int PRIMARY KEY, k int, payload text)`);
      const events: RunEvent[] = [];
      const started = performance.now();
      const outcome = await run(
        testConfig(
          { server: s.source, schema },
          [{ name: 'db_1', server: target, schema, tables: [table] }],
          // lockTimeout and the signal: deadlines, should the safety net not hold.
          { split: { minBytes: '1MB', parts: 2 }, concurrency: 2, retries: 1, lockTimeout: '20s' },
        ),
        {
          onEvent: (e) => {
            events.push(e);
            if (e.type !== 'run-start') return;
            execFileSync('psql', [
              urlOf(target),
              '-qXc',
              `ALTER TABLE ${q}.${table} ADD CONSTRAINT ${table}_k UNIQUE ${constraint.slice(7)}`,
            ]);
          },
          lockWaitTiming: { reportAfterMs: 60_000, pollMs: 100 },
          retryDelays: { baseDelayMs: 10, maxDelayMs: 10 },
          signal: AbortSignal.timeout(40_000),
        },
      );
      const seconds = (performance.now() - started) / 1000;
      const plan = events.find((e) => e.type === 'plan');
      expect(plan?.plan.targets[0]?.tables[0]?.split?.parts).toBe(2);
      const result = outcome.report?.tables[0] as TableResult;
      expect(result.error?.message).toMatch(
        new RegExp(
          `^the parts of db_1\\.${table} conflict on a unique key or constraint of the target: part \\d waited on a lock part \\d holds until every part has loaded`,
        ),
      );
      // Not retried: a new attempt would collide the same way.
      expect(result.error?.transient).toBe(false);
      expect(result.attempts ?? 1).toBe(1);
      expect(seconds).toBeLessThan(15);
      expect(await prepared()).toEqual([]);
      expect((await sql(target, `SELECT count(*)::int AS n FROM ${q}.${table}`)).rows).toEqual([
        { n: 0 },
      ]);
      expect(await leftoverSessions(target, schema)).toBe(0);
    });
  }
});
