import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/copy/run.js';
import type { Strategy } from '../../src/config/types.js';
import type { RunEvent, RunReport, TableResult } from '../../src/report/events.js';
import type { TablePlan } from '../../src/plan/types.js';
import { testConfig, type TestTarget } from '../support/config.js';
import { connect, servers, sql, tableDigest, uniqueName } from '../support/db.js';
import { terminateCopyBackend } from '../support/faults.js';
import { tablePlan } from '../support/table-plan.js';
import { dropIndexes } from '../../src/copy/index-rebuild.js';
import type { ServerInfo } from '../support/server-info.js';

// options.rebuildIndexes: a big table's secondary indexes are dropped for its load and created
// again before COMMIT, in the table's transaction. `1kB` makes the test tables big.
const ROWS = 3000;
const schema = uniqueName('Rebuild Indexes');
const q = `"${schema}"`;
const s = servers();
/** An in-place tablespace (inside the data directory), one per target server. */
const tablespace = uniqueName('pgcopy_ts').toLowerCase();
/** Every row passes, but the source pauses now and then: the COPY is still running when looked for. */
const PACED = 'CASE WHEN id % 100 = 0 THEN pg_catalog.pg_sleep(0.01) IS NOT NULL ELSE true END';

const TARGETS: readonly (readonly [string, ServerInfo])[] = [
  ['PostgreSQL 17', s.target1],
  ...(s.pg15 ? [['PostgreSQL 15', s.pg15] as const] : []),
];
/** The fan-out's second target: the PostgreSQL 15 server where there is one. */
const second = s.pg15 ?? s.target2;
const STRATEGIES: readonly Strategy[] = ['stream', 'dblink', 'fdw'];

const BIG = `(id int PRIMARY KEY, a int NOT NULL, b text, c int, parent_b text, payload text)`;
/** Indexes pgcopy drops and creates again (names sort as PostgreSQL's "C" order does). */
const REBUILT = ['Big Lower B', 'big_a', 'big_b_pattern', 'big_hash', 'big_partial', 'big_u'];
/** Indexes it keeps: constraints (unique, exclusion), a foreign key's referenced index, the replica identity, invalid. */
const KEPT = ['big_a_id_key', 'big_b_ref', 'big_excl', 'big_invalid', 'big_pkey', 'big_ri'];

beforeAll(async () => {
  await sql(
    s.source,
    `CREATE SCHEMA ${q};
     CREATE TABLE ${q}.big ${BIG};
     INSERT INTO ${q}.big SELECT g, g % 97, 'b' || g, g % 50, NULL, repeat('x', 50) || g
       FROM generate_series(1, ${ROWS}) g;
     CREATE TABLE ${q}.dup (id int PRIMARY KEY, k int, v text);
     INSERT INTO ${q}.dup SELECT g, CASE WHEN g = 1500 THEN 7 ELSE g END, 'v' || g
       FROM generate_series(1, ${ROWS}) g;
     CREATE TABLE ${q}.checked (id int PRIMARY KEY, k int, v text);
     INSERT INTO ${q}.checked SELECT g, g, 'v' || g FROM generate_series(1, ${ROWS}) g;
     CREATE TABLE ${q}.slow (id int PRIMARY KEY, a int);
     INSERT INTO ${q}.slow SELECT g, g FROM generate_series(1, 2000) g;
     CREATE TABLE ${q}.parted (id int, at date, v text);
     INSERT INTO ${q}.parted SELECT g, DATE '2020-01-01' + g, 'v' FROM generate_series(1, ${ROWS}) g;`,
  );
  for (const server of new Set([...TARGETS.map(([, t]) => t), second])) {
    const client = await connect(server);
    try {
      // A tablespace needs a directory the server's OS user owns: in place, it is in the data dir.
      await client.query('SET allow_in_place_tablespaces = on');
      await client.query(`CREATE TABLESPACE "${tablespace}" LOCATION ''`);
    } finally {
      await client.end();
    }
  }
});

afterAll(async () => {
  await sql(s.source, `DROP SCHEMA ${q} CASCADE`);
  for (const server of new Set([...TARGETS.map(([, t]) => t), second])) {
    await sql(server, `DROP SCHEMA IF EXISTS ${q} CASCADE`);
    await sql(server, `DROP TABLESPACE IF EXISTS "${tablespace}"`);
  }
});

/**
 * A fresh target schema. `big` has an index of every kind pgcopy rebuilds (storage parameters,
 * CLUSTER ON, a comment, an expression with statistics targets, a partial one with INCLUDE, a
 * collation and opclass in a tablespace, hash, unique NULLS NOT DISTINCT without a constraint)
 * and of every kind it keeps, and rows of its own.
 */
async function fresh(server: ServerInfo): Promise<void> {
  await sql(
    server,
    `DROP SCHEMA IF EXISTS ${q} CASCADE; CREATE SCHEMA ${q};
     CREATE TABLE ${q}.big ${BIG};
     INSERT INTO ${q}.big VALUES (-1, 1, 'old', 1, NULL, 'old'), (-2, 1, 'older', 1, NULL, 'old');
     CREATE INDEX big_a ON ${q}.big (a) WITH (fillfactor = 70);
     ALTER TABLE ${q}.big CLUSTER ON big_a;
     COMMENT ON INDEX ${q}.big_a IS 'by a, it''s "quoted"';
     CREATE INDEX "Big Lower B" ON ${q}.big (lower(b), (c + 1));
     ALTER INDEX ${q}."Big Lower B" ALTER COLUMN 1 SET STATISTICS 500;
     ALTER INDEX ${q}."Big Lower B" ALTER COLUMN 2 SET STATISTICS 0;
     CREATE INDEX big_partial ON ${q}.big (c DESC NULLS LAST) INCLUDE (payload) WHERE c > 10;
     CREATE INDEX big_b_pattern ON ${q}.big (b COLLATE "C" text_pattern_ops) TABLESPACE "${tablespace}";
     CREATE INDEX big_hash ON ${q}.big USING hash (b);
     CREATE UNIQUE INDEX big_u ON ${q}.big (c, id) NULLS NOT DISTINCT;
     ALTER TABLE ${q}.big ADD UNIQUE (a, id);
     ALTER TABLE ${q}.big ADD CONSTRAINT big_excl EXCLUDE USING btree (id WITH =);
     CREATE UNIQUE INDEX big_b_ref ON ${q}.big (b);
     ALTER TABLE ${q}.big ADD FOREIGN KEY (parent_b) REFERENCES ${q}.big (b);
     CREATE UNIQUE INDEX big_ri ON ${q}.big (id, a);
     ALTER TABLE ${q}.big REPLICA IDENTITY USING INDEX big_ri;
     CREATE TABLE ${q}.dup (id int PRIMARY KEY, k int, v text);
     INSERT INTO ${q}.dup VALUES (-1, -1, 'old');
     CREATE UNIQUE INDEX dup_k ON ${q}.dup (k);
     CREATE INDEX dup_v ON ${q}.dup (v);
     CREATE TABLE ${q}.checked (id int PRIMARY KEY, k int CHECK (k <> 2500), v text);
     INSERT INTO ${q}.checked VALUES (-1, -1, 'old');
     CREATE INDEX checked_v ON ${q}.checked (v);
     CREATE FUNCTION ${q}.slowly(int) RETURNS int IMMUTABLE LANGUAGE plpgsql
       AS $$ BEGIN PERFORM pg_catalog.pg_sleep(0.0005); RETURN $1; END $$;
     CREATE TABLE ${q}.slow (id int PRIMARY KEY, a int);
     CREATE INDEX slow_a ON ${q}.slow (${q}.slowly(a));
     CREATE TABLE ${q}.parted (id int, at date, v text) PARTITION BY RANGE (at);
     CREATE TABLE ${q}.parted_all PARTITION OF ${q}.parted FOR VALUES FROM ('2000-01-01') TO ('2100-01-01');
     CREATE INDEX parted_v ON ${q}.parted (v);`,
  );
  // A failed CREATE INDEX CONCURRENTLY leaves an invalid index behind: kept as it is.
  await expect(
    sql(server, `CREATE UNIQUE INDEX CONCURRENTLY big_invalid ON ${q}.big (a, c)`),
  ).rejects.toThrow(/could not create unique index/);
}

/** What the catalog says of every index of a table: all that a rebuild must keep, and the oid. */
async function indexCatalog(
  server: ServerInfo,
  table: string,
): Promise<{ name: string; oid: string; [key: string]: unknown }[]> {
  const { rows } = await sql(
    server,
    `SELECT i.relname AS name, i.oid::text AS oid, pg_get_indexdef(i.oid) AS def,
            x.indisunique, x.indisprimary, x.indisexclusion, x.indimmediate, x.indisclustered,
            x.indisvalid, x.indisready, x.indislive, x.indisreplident, x.indnatts, x.indnkeyatts,
            coalesce(t.spcname, '') AS tablespace, i.reloptions, (SELECT amname FROM pg_am WHERE oid = i.relam) AS method,
            obj_description(i.oid, 'pg_class') AS comment,
            (SELECT array_agg(coalesce(a.attstattarget::int, -1) ORDER BY a.attnum)
               FROM pg_attribute a WHERE a.attrelid = i.oid AND a.attnum > 0) AS stats,
            (SELECT array_agg(c.conname::text ORDER BY c.conname)
               FROM pg_constraint c WHERE c.conindid = i.oid) AS constraints
       FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
       LEFT JOIN pg_tablespace t ON t.oid = i.reltablespace
      WHERE x.indrelid = $1::regclass ORDER BY i.relname`,
    [`${q}.${table}`],
  );
  return rows as { name: string; oid: string }[];
}

const withoutOids = (rows: { oid: string }[]): unknown[] => rows.map(({ oid: _, ...rest }) => rest);
const oidsOf = (rows: { name: string; oid: string }[], names: readonly string[]): string[] =>
  rows.filter((r) => names.includes(r.name)).map((r) => r.oid);

interface Copied {
  readonly report: RunReport;
  readonly events: RunEvent[];
  result(table: string, target?: string): TableResult;
  planned(table: string, target?: string): TablePlan | undefined;
}

async function copy(
  targets: readonly TestTarget[],
  options: Record<string, unknown>,
  more: { verify?: boolean } = {},
): Promise<Copied> {
  const events: RunEvent[] = [];
  const outcome = await run(testConfig({ server: s.source, schema }, targets, options), {
    onEvent: (e) => events.push(e),
    retryDelays: { baseDelayMs: 10, maxDelayMs: 10 },
    ...more,
  });
  const report = outcome.report as RunReport;
  const name = targets[0]?.name;
  return {
    report,
    events,
    result: (table, target = name) =>
      report.tables.find((t) => t.table === table && t.target === target) as TableResult,
    planned: (table, target = name) =>
      outcome.plan.targets
        .find((t) => t.name === target)
        ?.tables.find((t) => t.targetTable === table),
  };
}

const target = (server: ServerInfo, tables: readonly unknown[], name = 'db_1'): TestTarget => ({
  name,
  server,
  schema,
  tables,
});
const TRUNCATE = { mode: 'truncate', rebuildIndexes: { minBytes: '1kB' }, retries: 0 };

describe.each(TARGETS)('rebuildIndexes on %s', (_, server) => {
  it.each(STRATEGIES)(
    'strategy %s: drops the secondary indexes, loads, and creates them again exactly as they were',
    async (strategy) => {
      await fresh(server);
      const before = await indexCatalog(server, 'big');
      const copied = await copy([target(server, ['big'])], {
        ...TRUNCATE,
        strategy,
        createExtensions: true,
      });
      const big = copied.result('big');
      expect(big.error).toBeNull();
      expect(big.rows).toBe(ROWS);
      expect(big.indexes?.rebuilt).toEqual(REBUILT);
      expect(big.indexes?.seconds).toBeGreaterThanOrEqual(0);
      expect(await tableDigest(server, `SELECT * FROM ${q}.big`)).toEqual(
        await tableDigest(s.source, `SELECT * FROM ${q}.big`),
      );
      const after = await indexCatalog(server, 'big');
      expect(withoutOids(after)).toEqual(withoutOids(before));
      // Rebuilt ones are new objects; kept ones are the same.
      expect(oidsOf(after, KEPT)).toEqual(oidsOf(before, KEPT));
      for (const oid of oidsOf(after, REBUILT)) expect(oidsOf(before, REBUILT)).not.toContain(oid);
      const planned = copied.planned('big');
      expect(planned?.rebuildIndexes).toEqual({ indexes: REBUILT });
      expect(planned?.notes?.join('\n')).toContain(
        `indexes ${REBUILT.join(', ')} dropped for the load and created again before COMMIT (kept: ${KEPT.join(', ')})`,
      );
    },
  );
});

describe('rebuildIndexes: which tables and modes', () => {
  it('read once, written into two targets: each target rebuilds its own indexes in its own transaction', async () => {
    await Promise.all([fresh(s.target1), fresh(second)]);
    const before = [await indexCatalog(s.target1, 'big'), await indexCatalog(second, 'big')];
    const copied = await copy(
      [target(s.target1, ['big'], 'db_1'), target(second, ['big'], 'db_2')],
      TRUNCATE,
    );
    expect(copied.report.tables.map((t) => t.error)).toEqual([null, null]);
    // Both pairs took the one read.
    const plan = copied.events.find((e) => e.type === 'plan');
    expect(plan?.type === 'plan' && plan.plan.readOnce?.shared.length).toBe(1);
    for (const [i, server] of [s.target1, second].entries()) {
      expect(copied.result('big', `db_${i + 1}`).indexes?.rebuilt).toEqual(REBUILT);
      expect(withoutOids(await indexCatalog(server, 'big'))).toEqual(withoutOids(before[i] ?? []));
      expect(await tableDigest(server, `SELECT * FROM ${q}.big`)).toEqual(
        await tableDigest(s.source, `SELECT * FROM ${q}.big`),
      );
    }
  });

  it("read once: a duplicate key failing one target's rebuild leaves the other target's commit alone", async () => {
    await Promise.all([fresh(s.target1), fresh(second)]);
    // Only the first target's k index is unique.
    await sql(second, `DROP INDEX ${q}.dup_k; CREATE INDEX dup_k ON ${q}.dup (k)`);
    const before = await indexCatalog(s.target1, 'dup');
    const copied = await copy(
      [target(s.target1, ['dup'], 'db_1'), target(second, ['dup'], 'db_2')],
      TRUNCATE,
    );
    expect(copied.result('dup', 'db_1').error?.message).toContain('Key (k)=(7) is duplicated');
    expect(await indexCatalog(s.target1, 'dup')).toEqual(before);
    expect((await sql(s.target1, `SELECT id FROM ${q}.dup`)).rows).toEqual([{ id: -1 }]);
    expect(copied.result('dup', 'db_2').error).toBeNull();
    expect(copied.result('dup', 'db_2').indexes?.rebuilt).toEqual(['dup_k', 'dup_v']);
    expect(await tableDigest(second, `SELECT * FROM ${q}.dup`)).toEqual(
      await tableDigest(s.source, `SELECT * FROM ${q}.dup`),
    );
  });

  it('append mode rebuilds when the setting is given, and says that the table is locked; --verify checks after the rebuild', async () => {
    await fresh(s.target1);
    const before = await indexCatalog(s.target1, 'big');
    const copied = await copy(
      [target(s.target1, [{ name: 'big', where: 'id > 0' }])],
      { ...TRUNCATE, mode: 'append' },
      { verify: true },
    );
    expect(copied.result('big').indexes?.rebuilt).toEqual(REBUILT);
    expect(copied.result('big').verified?.rows).toBe(ROWS);
    expect(copied.result('big').rows).toBe(ROWS);
    expect(withoutOids(await indexCatalog(s.target1, 'big'))).toEqual(withoutOids(before));
    expect(copied.planned('big')?.notes?.join('\n')).toContain(
      'append mode: the table is locked ACCESS EXCLUSIVE for the whole load',
    );
  });

  it('keeps the indexes in upsert mode, under minBytes, and when a level says false', async () => {
    await fresh(s.target1);
    const before = await indexCatalog(s.target1, 'big');
    const upsert = await copy([target(s.target1, ['big'])], {
      ...TRUNCATE,
      mode: 'upsert',
    });
    expect(upsert.result('big').error).toBeNull();
    expect(upsert.result('big').indexes).toBeUndefined();
    expect(upsert.planned('big')?.rebuildIndexes).toEqual({
      indexes: [],
      reason: "upsert's ON CONFLICT needs the key's index",
    });
    const small = await copy([target(s.target1, ['big'])], {
      ...TRUNCATE,
      rebuildIndexes: { minBytes: '1GB' },
    });
    expect(small.planned('big')?.rebuildIndexes).toBeUndefined();
    expect(small.result('big').indexes).toBeUndefined();
    const off = await copy([target(s.target1, [{ name: 'big', rebuildIndexes: false }])], TRUNCATE);
    expect(off.planned('big')?.rebuildIndexes).toBeUndefined();
    expect(off.result('big').rows).toBe(ROWS);
    expect(await indexCatalog(s.target1, 'big')).toEqual(before);
  });

  it('drops nothing when the indexes the plan found are gone by the load', async () => {
    await fresh(s.target1);
    const client = await connect(s.target1);
    try {
      await client.query(`BEGIN; DROP INDEX ${q}.checked_v`);
      const plan = tablePlan({
        targetSchema: schema,
        targetTable: 'checked',
        rebuildIndexes: { indexes: ['checked_v'] },
      });
      expect(await dropIndexes(client, plan)).toEqual({ indexes: [] });
      expect(await dropIndexes(client, { ...plan, targetTable: 'no such table' })).toEqual({
        indexes: [],
      });
    } finally {
      await client.query('ROLLBACK');
      await client.end();
    }
  });

  it('a partitioned target, and a partition whose indexes are attached to its parent, keep them', async () => {
    await fresh(s.target1);
    // One run each: two truncates of the same partition at once would wait on each other.
    const parent = await copy([target(s.target1, ['parted'])], TRUNCATE);
    expect(parent.result('parted').error).toBeNull();
    expect(parent.planned('parted')?.notes?.join('\n')).toContain(
      'indexes kept during the load: the target is partitioned (its indexes are partitioned indexes)',
    );
    const partition = await copy(
      [target(s.target1, [{ name: 'parted', target: 'parted_all' }])],
      TRUNCATE,
    );
    expect(partition.result('parted_all').error).toBeNull();
    expect(partition.planned('parted_all')?.rebuildIndexes?.reason).toBe(
      'no secondary index can be dropped and created again (kept: parted_all_v_idx)',
    );
  });
});

describe('rebuildIndexes: a failure leaves every index and every row as it was', () => {
  it('a duplicate key failing CREATE UNIQUE INDEX names the table and the key, and rolls back', async () => {
    await fresh(s.target1);
    const before = await indexCatalog(s.target1, 'dup');
    const copied = await copy([target(s.target1, ['dup'])], TRUNCATE);
    const dup = copied.result('dup');
    expect(dup.error?.sqlstate).toBe('23505');
    expect(dup.error?.message).toContain(`"${schema}"."dup"`);
    expect(dup.error?.message).toContain('Key (k)=(7) is duplicated');
    expect(dup.rows).toBe(0);
    expect(await indexCatalog(s.target1, 'dup')).toEqual(before);
    expect((await sql(s.target1, `SELECT id, k, v FROM ${q}.dup`)).rows).toEqual([
      { id: -1, k: -1, v: 'old' },
    ]);
    // Without the duplicate, the next run rebuilds and commits.
    const again = await copy([target(s.target1, [{ name: 'dup', where: 'id <> 1500' }])], TRUNCATE);
    expect(again.result('dup').error).toBeNull();
    expect(again.result('dup').indexes?.rebuilt).toEqual(['dup_k', 'dup_v']);
    expect(withoutOids(await indexCatalog(s.target1, 'dup'))).toEqual(withoutOids(before));
  });

  it('a failed COPY rolls back the drop: the indexes and the rows are the old ones', async () => {
    await fresh(s.target1);
    const before = await indexCatalog(s.target1, 'checked');
    const copied = await copy([target(s.target1, ['checked'])], TRUNCATE);
    expect(copied.result('checked').error?.sqlstate).toBe('23514');
    expect(await indexCatalog(s.target1, 'checked')).toEqual(before);
    expect((await sql(s.target1, `SELECT id FROM ${q}.checked`)).rows).toEqual([{ id: -1 }]);
  });

  it('a target connection killed during CREATE INDEX is retried, and the retry rebuilds', async () => {
    await fresh(s.target1);
    const before = await indexCatalog(s.target1, 'slow');
    const running = copy([target(s.target1, ['slow'])], { ...TRUNCATE, retries: 1 });
    // The index's function sleeps: its build takes about a second.
    let killed = 0;
    for (const until = Date.now() + 20_000; killed === 0 && Date.now() < until;) {
      const { rows } = await sql(
        s.target1,
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE application_name = 'pgcopy' AND state = 'active'
            AND query LIKE '%CREATE INDEX slow_a%' AND strpos(query, $1) > 0`,
        [schema],
      );
      killed = rows.length;
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(killed).toBe(1);
    const copied = await running;
    const slow = copied.result('slow');
    expect(slow.error).toBeNull();
    expect(slow.attempts).toBe(2);
    expect(slow.indexes?.rebuilt).toEqual(['slow_a']);
    expect(withoutOids(await indexCatalog(s.target1, 'slow'))).toEqual(withoutOids(before));
    expect(await tableDigest(s.target1, `SELECT * FROM ${q}.slow`)).toEqual(
      await tableDigest(s.source, `SELECT * FROM ${q}.slow`),
    );
    const retried = copied.events.find((e) => e.type === 'table-retry');
    expect(retried?.type === 'table-retry' && retried.error.message).toContain(
      'connection lost while creating the dropped indexes again',
    );
  });

  it('a target connection killed during the load is retried, and the retry rebuilds', async () => {
    await fresh(s.target1);
    const before = await indexCatalog(s.target1, 'big');
    const running = copy([target(s.target1, [{ name: 'big', where: PACED }])], {
      ...TRUNCATE,
      retries: 1,
    });
    expect(await terminateCopyBackend(s.target1, schema)).toBe(true);
    const copied = await running;
    const big = copied.result('big');
    expect(big.error).toBeNull();
    expect(big.attempts).toBe(2);
    expect(big.indexes?.rebuilt).toEqual(REBUILT);
    expect(withoutOids(await indexCatalog(s.target1, 'big'))).toEqual(withoutOids(before));
    expect(await tableDigest(s.target1, `SELECT * FROM ${q}.big`)).toEqual(
      await tableDigest(s.source, `SELECT * FROM ${q}.big`),
    );
  });
});

describe('rebuildIndexes: a role that does not own the target table keeps its indexes', () => {
  const role = uniqueName('pgcopy_indexes').toLowerCase();
  const password = `pw_${role}`;
  /** The role has no CREATE on the test tablespace: the index there stays. */
  const WITHOUT_TABLESPACE = REBUILT.filter((name) => name !== 'big_b_pattern');
  const asRole = (): TestTarget => ({
    ...target(s.target1, ['big']),
    extra: { user: role, password },
  });

  beforeAll(async () => {
    await sql(s.target1, `CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
  });

  afterAll(async () => {
    await sql(
      s.target1,
      `DROP SCHEMA IF EXISTS ${q} CASCADE; DROP OWNED BY ${role}; DROP ROLE ${role}`,
    );
  });

  it('the plan says so, and the copy goes on with the indexes in place', async () => {
    await fresh(s.target1);
    await sql(
      s.target1,
      `GRANT USAGE ON SCHEMA ${q} TO ${role}; GRANT SELECT, INSERT, TRUNCATE ON ${q}.big TO ${role}`,
    );
    const before = await indexCatalog(s.target1, 'big');
    const copied = await copy([asRole()], TRUNCATE);
    expect(copied.planned('big')?.rebuildIndexes).toEqual({
      indexes: [],
      reason: 'the role does not own the target table',
    });
    expect(copied.result('big').error).toBeNull();
    expect(copied.result('big').rows).toBe(ROWS);
    expect(copied.result('big').indexes).toBeUndefined();
    expect(await indexCatalog(s.target1, 'big')).toEqual(before);
  });

  it('the owner without CREATE on the schema keeps them: the plan says why', async () => {
    await fresh(s.target1);
    await sql(
      s.target1,
      `GRANT USAGE ON SCHEMA ${q} TO ${role}; ALTER TABLE ${q}.big OWNER TO ${role}`,
    );
    const before = await indexCatalog(s.target1, 'big');
    const copied = await copy([asRole()], TRUNCATE);
    expect(copied.planned('big')?.rebuildIndexes).toEqual({
      indexes: [],
      reason: 'the role may not create indexes in the target schema (no CREATE on it)',
    });
    expect(copied.result('big').error).toBeNull();
    expect(await indexCatalog(s.target1, 'big')).toEqual(before);
  });

  it('an index in a tablespace the role may not create in is kept; the others are rebuilt', async () => {
    await fresh(s.target1);
    await sql(
      s.target1,
      `GRANT USAGE, CREATE ON SCHEMA ${q} TO ${role}; ALTER TABLE ${q}.big OWNER TO ${role}`,
    );
    const before = await indexCatalog(s.target1, 'big');
    const copied = await copy([asRole()], TRUNCATE);
    expect(copied.planned('big')?.rebuildIndexes).toEqual({ indexes: WITHOUT_TABLESPACE });
    expect(copied.result('big').error).toBeNull();
    expect(copied.result('big').indexes?.rebuilt).toEqual(WITHOUT_TABLESPACE);
    expect(withoutOids(await indexCatalog(s.target1, 'big'))).toEqual(withoutOids(before));
    expect(oidsOf(await indexCatalog(s.target1, 'big'), ['big_b_pattern'])).toEqual(
      oidsOf(before, ['big_b_pattern']),
    );
  });

  it('ownership lost between the plan and the load: a warning, and the indexes kept', async () => {
    await fresh(s.target1);
    await sql(
      s.target1,
      `GRANT USAGE, CREATE ON SCHEMA ${q} TO ${role}; ALTER TABLE ${q}.big OWNER TO ${role}`,
    );
    const before = await indexCatalog(s.target1, 'big');
    // The load's TRUNCATE waits behind this lock while the table changes hands.
    const locker = await connect(s.target1);
    try {
      await locker.query(`BEGIN; LOCK TABLE ${q}.big IN ACCESS SHARE MODE`);
      const running = copy([asRole()], TRUNCATE);
      let waiting = 0;
      for (const until = Date.now() + 20_000; waiting === 0 && Date.now() < until;) {
        const { rows } = await locker.query(
          `SELECT count(*)::int AS n FROM pg_locks WHERE relation = '${q}.big'::regclass AND NOT granted`,
        );
        waiting = (rows[0] as { n: number }).n;
        if (waiting === 0) await new Promise((r) => setTimeout(r, 10));
      }
      expect(waiting).toBe(1);
      await locker.query(
        `ALTER TABLE ${q}.big OWNER TO "${s.target1.user}";
         GRANT SELECT, INSERT, TRUNCATE ON ${q}.big TO ${role}; COMMIT`,
      );
      const copied = await running;
      expect(copied.planned('big')?.rebuildIndexes).toEqual({ indexes: WITHOUT_TABLESPACE });
      const big = copied.result('big');
      expect(big.error).toBeNull();
      expect(big.rows).toBe(ROWS);
      expect(big.warnings).toContain(
        'indexes kept during the load: the role does not own the target table',
      );
      expect(big.indexes).toBeUndefined();
      expect(withoutOids(await indexCatalog(s.target1, 'big'))).toEqual(withoutOids(before));
      expect(oidsOf(await indexCatalog(s.target1, 'big'), REBUILT)).toEqual(
        oidsOf(before, REBUILT),
      );
    } finally {
      await locker.end();
    }
  });
});
