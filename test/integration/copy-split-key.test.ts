import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/copy/run.js';
import { keyBounds } from '../../src/copy/split/key-bounds.js';
import type { LocalPostgres } from '../../src/demo/local-postgres.js';
import type { TablePlan } from '../../src/plan/types.js';
import type { RunEvent, RunReport, TableResult } from '../../src/report/events.js';
import { testConfig } from '../support/config.js';
import {
  connect,
  isCopyQuery,
  pg13Server,
  servers,
  sql,
  tableDigest,
  uniqueName,
} from '../support/db.js';
import type { ServerInfo } from '../support/server-info.js';
import { startPreparingTarget } from '../support/prepared-target.js';
import { tablePlan } from '../support/table-plan.js';

// Where block ranges cannot be used (a PostgreSQL 13 source; a partitioned table), a big table is
// split by ranges of an integer key. Its parts commit together through prepared transactions: the
// suite's targets have none, so this file starts a PostgreSQL 17 target of its own that has.
const s = servers();
const pg13 = pg13Server();
const schema = uniqueName('KeySplit');
const q = `"${schema}"`;
let own: LocalPostgres;
let target: ServerInfo;

/**
 * Skewed keys: a dense run of negative ones, a sparse run of positive ones, and a few far out at
 * both ends (huge gaps), so even steps between the least and greatest key would put nearly every
 * row in one part. `payload` makes the table big enough to split (over 1 MB).
 */
const SKEWED_KEYS = `
  SELECT g FROM generate_series(-30000, -1) g
  UNION ALL SELECT g * 1000 FROM generate_series(1, 20000) g
  UNION ALL SELECT unnest(ARRAY[-4000000000000000, 5000000000000000, 9223372036854775807])`;
const SKEWED_ROWS = 50_003;

const tableSql = (table: string, keyType = 'bigint'): string =>
  `CREATE TABLE ${q}.${table} (id ${keyType} PRIMARY KEY, payload text NOT NULL, note text)`;

beforeAll(async () => {
  ({ server: own, info: target } = await startPreparingTarget('key-split-target'));
  await sql(
    pg13,
    `CREATE SCHEMA ${q};
     ${tableSql('big')};
     INSERT INTO ${q}.big SELECT k, repeat('x', 100) || k, CASE WHEN k % 3 = 0 THEN 'three' END
       FROM (${SKEWED_KEYS}) AS keys(k);
     ANALYZE ${q}.big;
     CREATE TABLE ${q}.unkeyed (code text PRIMARY KEY, payload text);
     INSERT INTO ${q}.unkeyed SELECT 'c' || g, repeat('y', 100) FROM generate_series(1, 20000) g;`,
  );
}, 60_000);

afterAll(async () => {
  await sql(pg13, `DROP SCHEMA ${q} CASCADE`);
  await sql(s.source, `DROP SCHEMA IF EXISTS ${q} CASCADE`);
  await own.stop();
});

/** A fresh target schema with `big` (and `rows` of its own) and `unkeyed`. */
async function fresh(rows: string[] = []): Promise<void> {
  await sql(
    target,
    `DROP SCHEMA IF EXISTS ${q} CASCADE; CREATE SCHEMA ${q};
     ${tableSql('big')};
     CREATE TABLE ${q}.unkeyed (code text PRIMARY KEY, payload text);
     ${rows.map((row) => `INSERT INTO ${q}.big VALUES ${row};`).join('\n')}`,
  );
}

async function copy(
  source: ServerInfo,
  tables: unknown[],
  options: { events?: RunEvent[] } = {},
): Promise<{ report: RunReport; results: readonly TableResult[]; events: RunEvent[] }> {
  const events = options.events ?? [];
  const outcome = await run(
    testConfig({ server: source, schema }, [{ name: 'db_1', server: target, schema, tables }], {
      split: { minBytes: '1MB', parts: 2 },
      concurrency: 2,
      retries: 0,
    }),
    { onEvent: (e) => events.push(e), progressIntervalMs: 0 },
  );
  const report = outcome.report as RunReport;
  return { report, results: report.tables, events };
}

function planned(events: RunEvent[], table: string): TablePlan | undefined {
  const plan = events.find((e) => e.type === 'plan');
  return plan?.plan.targets[0]?.tables.find((t) => t.targetTable === table);
}

async function prepared(): Promise<string[]> {
  const { rows } = await sql(target, `SELECT gid FROM pg_prepared_xacts ORDER BY gid`);
  return (rows as { gid: string }[]).map((r) => r.gid);
}

const digest = (server: ServerInfo, table = 'big', columns = '*') =>
  tableDigest(server, `SELECT ${columns} FROM ${q}.${table}`);

describe('split by an integer key: a PostgreSQL 13 source (no TID range scans)', () => {
  it('copies every row once in two key ranges, and the plan says it splits by key id', async () => {
    await fresh();
    const { results, events } = await copy(pg13, ['big']);
    expect(results[0]?.error).toBeNull();
    expect(results[0]?.rows).toBe(SKEWED_ROWS);
    expect(await digest(target)).toEqual(await digest(pg13));
    expect(planned(events, 'big')?.split).toEqual({ parts: 2, by: 'key', key: 'id' });
    expect(planned(events, 'big')?.notes).toContain(
      'split into 2 parts by key id, committed together',
    );
    expect(await prepared()).toEqual([]);
  });

  it('balances the parts of skewed, negative and far-apart keys by the histogram', async () => {
    const client = await connect(pg13);
    try {
      const plan = tablePlan({ sourceSchema: schema, sourceTable: 'big', sourceKind: 'r' });
      const [bound] = await keyBounds(client, plan, 'id', 2);
      const { rows } = await client.query<{ below: number; belowMidpoint: number }>(
        `SELECT count(*) FILTER (WHERE id < $1)::int AS below,
                count(*) FILTER (WHERE id < (SELECT (min(id)::numeric + max(id)) / 2 FROM ${q}.big))::int AS "belowMidpoint"
           FROM ${q}.big`,
        [bound],
      );
      const share = (rows[0]?.below ?? 0) / SKEWED_ROWS;
      expect(share).toBeGreaterThan(0.4);
      expect(share).toBeLessThan(0.6);
      // Even steps between the least and greatest key would put every row but one in one part.
      expect(rows[0]?.belowMidpoint).toBe(SKEWED_ROWS - 1);
      const four = await keyBounds(client, plan, 'id', 4);
      expect(four).toHaveLength(3);
      expect(four.map(BigInt)).toEqual([...four.map(BigInt)].sort((a, b) => (a < b ? -1 : 1)));
    } finally {
      await client.end();
    }
  });

  it('bug: a table never analyzed (no histogram) must still copy every row once, huge key gaps and all', async () => {
    await sql(
      pg13,
      `${tableSql('fresh_keys')} WITH (autovacuum_enabled = false);
       INSERT INTO ${q}.fresh_keys SELECT k, repeat('z', 100), NULL FROM (${SKEWED_KEYS}) AS keys(k);`,
    );
    await sql(target, tableSql('fresh_keys'));
    try {
      const { results, events } = await copy(pg13, ['fresh_keys']);
      expect(results[0]?.error).toBeNull();
      expect(planned(events, 'fresh_keys')?.split?.by).toBe('key');
      expect(await digest(target, 'fresh_keys')).toEqual(await digest(pg13, 'fresh_keys'));
    } finally {
      await sql(pg13, `DROP TABLE ${q}.fresh_keys`);
    }
  });

  it('bug: an empty keyed table must split into empty parts, not fail', async () => {
    await sql(pg13, tableSql('none'));
    await sql(target, tableSql('none'));
    try {
      const config = testConfig(
        { server: pg13, schema },
        [{ name: 'db_1', server: target, schema, tables: ['none'] }],
        { split: { minBytes: 0, parts: 3 }, concurrency: 3, retries: 0 },
      );
      const events: RunEvent[] = [];
      const { report } = await run(config, { onEvent: (e) => events.push(e) });
      expect(planned(events, 'none')?.split).toEqual({ parts: 3, by: 'key', key: 'id' });
      expect(report?.tables[0]?.error).toBeNull();
      expect(report?.tables[0]?.rows).toBe(0);
    } finally {
      await sql(pg13, `DROP TABLE ${q}.none`);
    }
  });

  it('keeps the where filter and reads the key even where it is not copied', async () => {
    await fresh();
    await sql(target, `DROP TABLE ${q}.big; CREATE TABLE ${q}.big (payload text, note text)`);
    const { results, events } = await copy(pg13, [
      { name: 'big', where: "note = 'three' -- a comment", columns: { exclude: ['id'] } },
    ]);
    expect(results[0]?.error).toBeNull();
    expect(planned(events, 'big')?.split?.by).toBe('key');
    expect(planned(events, 'big')?.columns).toEqual(['payload', 'note']);
    expect(await digest(target, 'big', 'payload, note')).toEqual(
      await tableDigest(pg13, `SELECT payload, note FROM ${q}.big WHERE note = 'three'`),
    );
  });

  it('bug: rows that change after the snapshot must not be copied, whichever key range they fall in', async () => {
    await fresh();
    const before = await digest(pg13);
    // Hold the target table: the parts' COPY waits while the source moves on.
    const locker = await connect(target);
    const writer = await connect(pg13);
    try {
      await locker.query(`BEGIN; LOCK TABLE ${q}.big IN SHARE MODE`);
      const events: RunEvent[] = [];
      const copying = copy(pg13, ['big'], { events });
      await waitForLockedCopies(target, 2);
      // New keys below and above every range, rows gone from both parts, keys moved across them.
      await writer.query(
        `BEGIN;
         INSERT INTO ${q}.big VALUES (-9223372036854775808, 'new low', NULL), (9223372036854775806, 'new high', NULL);
         DELETE FROM ${q}.big WHERE id IN (-30000, -1, 1000, 20000000);
         UPDATE ${q}.big SET id = -id * 1000 - 1, payload = 'moved down' WHERE id BETWEEN 2000 AND 9000;
         UPDATE ${q}.big SET id = 100000000 - id, payload = 'moved up' WHERE id BETWEEN -4000 AND -3000;
         UPDATE ${q}.big SET payload = 'changed' WHERE id BETWEEN -20000 AND -10000;
         COMMIT`,
      );
      await locker.query('ROLLBACK');
      const { results } = await copying;
      expect(results[0]?.error).toBeNull();
      expect(planned(events, 'big')?.split?.by).toBe('key');
      expect(await digest(target)).toEqual(before);
      expect(await digest(pg13)).not.toEqual(before);
    } finally {
      await locker.end();
      await writer.end();
    }
    // Back to the rows the other tests expect.
    await sql(
      pg13,
      `TRUNCATE ${q}.big;
       INSERT INTO ${q}.big SELECT k, repeat('x', 100) || k, CASE WHEN k % 3 = 0 THEN 'three' END
         FROM (${SKEWED_KEYS}) AS keys(k);
       ANALYZE ${q}.big;`,
    );
  });

  it('bug: a unique violation in the second key range must leave the target table exactly as before', async () => {
    // The greatest key is in the last part.
    await fresh(["(9223372036854775807, 'already here', NULL)"]);
    const before = await digest(target);
    const { results } = await copy(pg13, ['big']);
    expect(results[0]?.error?.sqlstate).toBe('23505');
    expect(results[0]?.rows).toBe(0);
    expect(await digest(target)).toEqual(before);
    expect(await prepared()).toEqual([]);
  });

  it('copies a table without an integer key in one stream, and the plan says why', async () => {
    await fresh();
    const { results, events } = await copy(pg13, ['unkeyed']);
    expect(results[0]?.error).toBeNull();
    expect(await digest(target, 'unkeyed')).toEqual(await digest(pg13, 'unkeyed'));
    expect(planned(events, 'unkeyed')?.split).toEqual({
      parts: 1,
      reason:
        'the source is PostgreSQL 13: block ranges need 14 or later, and it has no integer key to split by (a single-column NOT NULL unique key of type smallint, integer or bigint)',
    });
  });
});

describe('split by an integer key: a partitioned PostgreSQL 17 source', () => {
  beforeAll(async () => {
    await sql(
      s.source,
      `CREATE SCHEMA ${q};
       CREATE TABLE ${q}.big (id bigint PRIMARY KEY, payload text NOT NULL, note text) PARTITION BY RANGE (id);
       CREATE TABLE ${q}.big_low PARTITION OF ${q}.big FOR VALUES FROM (MINVALUE) TO (0);
       CREATE TABLE ${q}.big_high PARTITION OF ${q}.big FOR VALUES FROM (0) TO (MAXVALUE);
       INSERT INTO ${q}.big SELECT k, repeat('x', 100) || k, NULL FROM (${SKEWED_KEYS}) AS keys(k);
       ANALYZE ${q}.big;
       CREATE TABLE ${q}.unkeyed (code text PRIMARY KEY, payload text) PARTITION BY LIST (code);
       CREATE TABLE ${q}.unkeyed_all PARTITION OF ${q}.unkeyed DEFAULT;
       INSERT INTO ${q}.unkeyed SELECT 'c' || g, repeat('y', 100) FROM generate_series(1, 20000) g;`,
    );
  });

  it('copies every row of the partitions once in two key ranges, by the inherited histogram', async () => {
    await fresh();
    const { results, events } = await copy(s.source, ['big', 'unkeyed']);
    expect(results.map((r) => r.error)).toEqual([null, null]);
    expect(results[0]?.rows).toBe(SKEWED_ROWS);
    expect(await digest(target)).toEqual(await digest(s.source));
    expect(await digest(target, 'unkeyed')).toEqual(await digest(s.source, 'unkeyed'));
    expect(planned(events, 'big')?.split).toEqual({ parts: 2, by: 'key', key: 'id' });
    expect(planned(events, 'unkeyed')?.split?.reason).toBe(
      'the source is partitioned (no block ranges), and it has no integer key to split by (a single-column NOT NULL unique key of type smallint, integer or bigint)',
    );
    const client = await connect(s.source);
    try {
      const plan = tablePlan({ sourceSchema: schema, sourceTable: 'big', sourceKind: 'p' });
      const [bound] = await keyBounds(client, plan, 'id', 2);
      const { rows } = await client.query<{ below: number }>(
        `SELECT count(*) FILTER (WHERE id < $1)::int AS below FROM ${q}.big`,
        [bound],
      );
      const share = (rows[0]?.below ?? 0) / SKEWED_ROWS;
      expect(share).toBeGreaterThan(0.4);
      expect(share).toBeLessThan(0.6);
    } finally {
      await client.end();
    }
  });

  it('bug: a unique violation in the second key range of a partitioned source must leave the target table exactly as before', async () => {
    await fresh(["(9223372036854775807, 'already here', NULL)"]);
    const before = await digest(target);
    const { results, events } = await copy(s.source, ['big']);
    expect(planned(events, 'big')?.split?.by).toBe('key');
    expect(results[0]?.error?.sqlstate).toBe('23505');
    expect(results[0]?.rows).toBe(0);
    expect(await digest(target)).toEqual(before);
    expect(await prepared()).toEqual([]);
  });
});

/** Resolves when `count` pgcopy COPY statements of this file's schema wait for a lock on `server`. */
async function waitForLockedCopies(server: ServerInfo, count: number): Promise<void> {
  const client = new pg.Client({ ...server, database: 'postgres' });
  await client.connect();
  try {
    for (let attempt = 0; attempt < 1200; attempt += 1) {
      const r = await client.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE application_name = 'pgcopy' AND wait_event_type = 'Lock'
            AND ${isCopyQuery()} AND strpos(query, $1) > 0`,
        [schema],
      );
      if ((r.rows[0]?.n ?? 0) >= count) return;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  } finally {
    await client.end();
  }
  throw new Error(`fewer than ${count} pgcopy COPY statements waiting for a lock`);
}
