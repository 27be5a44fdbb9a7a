import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/copy/run.js';
import { plan as makePlan } from '../../src/index.js';
import { cli, workDir } from '../support/cli.js';
import { endpointOf, testConfig } from '../support/config.js';
import { servers, sql, sqlIn, uniqueName } from '../support/db.js';

/**
 * Trigger functions that name tables without a schema rely on the search_path their owners
 * configured for the database or the role; pgcopy's own SQL runs under pg_catalog's, and must not
 * be turned by the user objects of that configured path (an operator, an aggregate or a type named
 * like pg_catalog's, in a schema listed ahead of pg_catalog).
 */
const s = servers();
const schema = uniqueName('SearchPath');
const app = uniqueName('app').toLowerCase();
const database = uniqueName('pgcopy_path').toLowerCase();
const q = `"${schema}"`;

const TABLE = `CREATE TABLE ${q}.items (id int PRIMARY KEY, name text);
  CREATE TABLE ${q}.parted (id int PRIMARY KEY, name text) PARTITION BY RANGE (id);
  CREATE TABLE ${q}.parted_low PARTITION OF ${q}.parted FOR VALUES FROM (MINVALUE) TO (50);
  CREATE TABLE ${q}.parted_high PARTITION OF ${q}.parted FOR VALUES FROM (50) TO (MAXVALUE);
  CREATE TABLE ${q}.checked (id int PRIMARY KEY)`;

/** Each user object in the configured path would change pgcopy's statements if they used it. */
const HIJACKERS = `
  CREATE FUNCTION ${app}.never(xid, int) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT false';
  CREATE OPERATOR ${app}.= (leftarg = xid, rightarg = int, function = ${app}.never);
  CREATE FUNCTION ${app}.never_text(text, text) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT false';
  CREATE OPERATOR ${app}.= (leftarg = text, rightarg = text, function = ${app}.never_text);
  CREATE FUNCTION ${app}.plus_1000(int8) RETURNS int8 LANGUAGE sql IMMUTABLE AS 'SELECT $1 + 1000';
  CREATE AGGREGATE ${app}.count(*) (sfunc = ${app}.plus_1000, stype = int8, initcond = '0');
  CREATE TYPE ${app}.text AS (hijacked int);
  CREATE FUNCTION ${app}.always_0(int8, int8) RETURNS int8 LANGUAGE sql IMMUTABLE AS 'SELECT 0::int8';
  CREATE OPERATOR ${app}.- (leftarg = int8, rightarg = int8, function = ${app}.always_0);
  CREATE FUNCTION ${app}.never_int(int, int) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT false';
  CREATE OPERATOR ${app}.= (leftarg = int, rightarg = int, function = ${app}.never_int);
`;

/** Unqualified names, found through the configured search_path only. */
const TRIGGERS = `
  CREATE TABLE ${app}.seen (id int);
  CREATE TABLE ${app}.truncations (at timestamptz DEFAULT now());
  CREATE FUNCTION ${app}.note_row() RETURNS trigger LANGUAGE plpgsql AS
    $$ BEGIN INSERT INTO seen (id) VALUES (NEW.id); RETURN NEW; END $$;
  CREATE FUNCTION ${app}.note_truncate() RETURNS trigger LANGUAGE plpgsql AS
    $$ BEGIN INSERT INTO truncations DEFAULT VALUES; RETURN NULL; END $$;
  CREATE TRIGGER note_row AFTER INSERT OR UPDATE ON ${q}.items
    FOR EACH ROW EXECUTE FUNCTION ${app}.note_row();
  CREATE TRIGGER note_truncate AFTER TRUNCATE ON ${q}.items
    FOR EACH STATEMENT EXECUTE FUNCTION ${app}.note_truncate();
  CREATE TRIGGER note_row AFTER INSERT OR UPDATE ON ${q}.parted
    FOR EACH ROW EXECUTE FUNCTION ${app}.note_row();
  -- No trigger: a check constraint whose function names a table without its schema.
  CREATE TABLE ${app}.limits (max_v int); INSERT INTO ${app}.limits VALUES (1000);
  SET check_function_bodies = off; SET search_path = ${app}, public;
  CREATE FUNCTION ${app}.allowed(int) RETURNS boolean LANGUAGE sql STABLE
    AS 'SELECT $1 <= (SELECT max_v FROM limits)';
  ALTER TABLE ${q}.checked ADD CHECK (${app}.allowed(id));
`;

const target = (name = 'db_1', extra: Record<string, unknown> = {}) => ({
  name,
  server: s.target1,
  schema,
  tables: ['items'],
  extra: { database, ...extra },
});

beforeAll(async () => {
  await sql(
    s.source,
    `CREATE SCHEMA ${q}; ${TABLE};
     INSERT INTO ${q}.items SELECT g, 'item ' || g FROM generate_series(1, 100) g;
     INSERT INTO ${q}.parted SELECT g, 'item ' || g FROM generate_series(1, 100) g;
     INSERT INTO ${q}.checked SELECT generate_series(1, 100)`,
  );
  await sql(s.target1, `CREATE DATABASE ${database}`);
  await sqlIn(
    s.target1,
    database,
    `CREATE EXTENSION dblink; CREATE EXTENSION postgres_fdw;
     CREATE SCHEMA ${q}; CREATE SCHEMA ${app}; ${TABLE}; ${HIJACKERS} ${TRIGGERS}
     ALTER DATABASE ${database} SET search_path = ${app}, pg_catalog`,
  );
});

afterAll(async () => {
  await sql(s.source, `DROP SCHEMA ${q} CASCADE`);
  await sql(s.target1, `DROP DATABASE ${database} WITH (FORCE)`);
});

async function reset(): Promise<void> {
  await sqlIn(
    s.target1,
    database,
    `TRUNCATE ${q}.items;
     INSERT INTO ${q}.items SELECT g, 'old ' || g FROM generate_series(91, 110) g;
     TRUNCATE ${app}.seen, ${app}.truncations`,
  );
}

async function counts(): Promise<{ seen: number; truncations: number }> {
  const { rows } = await sqlIn(
    s.target1,
    database,
    `SELECT (SELECT pg_catalog.count(*)::int FROM ${app}.seen) AS seen,
            (SELECT pg_catalog.count(*)::int FROM ${app}.truncations) AS truncations`,
  );
  return rows[0] as { seen: number; truncations: number };
}

/** After each mode, from 20 old rows (91..110) and 100 copied ones (1..100). */
const EXPECTED: Record<string, { rows: number; seen: number; truncations: number }> = {
  truncate: { rows: 100, seen: 100, truncations: 1 },
  upsert: { rows: 110, seen: 100, truncations: 0 },
  'insert-new': { rows: 110, seen: 90, truncations: 0 },
};

describe("user trigger functions that rely on the target's configured search_path", () => {
  for (const strategy of ['stream', 'dblink', 'fdw'] as const) {
    for (const mode of ['truncate', 'upsert', 'insert-new'] as const) {
      it(`fire with the database's search_path: ${strategy}, ${mode}`, async () => {
        await reset();
        const { report } = await run(
          testConfig({ server: s.source, schema }, [target()], { strategy, mode }),
        );
        expect(report?.tables.map((t) => [t.table, t.status, t.error ?? null])).toEqual([
          ['items', 'warnings', null],
        ]);
        const expected = EXPECTED[mode] as (typeof EXPECTED)[string];
        expect(await counts()).toEqual({
          seen: expected.seen,
          truncations: expected.truncations,
        });
        const held = await sqlIn(
          s.target1,
          database,
          `SELECT pg_catalog.count(*)::int AS n, pg_catalog.count(*) FILTER (WHERE name LIKE 'item %')::int AS copied FROM ${q}.items`,
        );
        expect(held.rows[0]).toEqual({
          n: expected.rows,
          copied: mode === 'insert-new' ? 90 : 100,
        });
        // The counts pgcopy reports come from pg_catalog's count and =, not the path's.
        const changes = report?.tables[0]?.changes;
        if (mode === 'upsert') expect(changes).toEqual({ inserted: 90, updated: 10, unchanged: 0 });
        if (mode === 'insert-new')
          expect(changes).toEqual({ inserted: 90, updated: 0, unchanged: 10 });
      });
    }
    it(`fire with the database's search_path: ${strategy}, append`, async () => {
      await sqlIn(
        s.target1,
        database,
        `TRUNCATE ${q}.items; TRUNCATE ${app}.seen, ${app}.truncations`,
      );
      const { report } = await run(
        testConfig({ server: s.source, schema }, [target()], { strategy, mode: 'append' }),
      );
      expect(report?.tables.map((t) => [t.table, t.status, t.error ?? null])).toEqual([
        ['items', 'warnings', null],
      ]);
      expect(await counts()).toEqual({ seen: 100, truncations: 0 });
    });
  }

  for (const strategy of ['stream', 'dblink', 'fdw'] as const) {
    it(`a check constraint calling a function that relies on the search_path holds (${strategy})`, async () => {
      await sqlIn(s.target1, database, `TRUNCATE ${q}.checked`);
      const { plan, report } = await run(
        testConfig({ server: s.source, schema }, [{ ...target(), tables: ['checked'] }], {
          strategy,
        }),
      );
      expect(plan.targets[0]?.tables[0]?.runsUserCode).toBe(true);
      expect(report?.tables.map((t) => [t.table, t.status, t.error ?? null])).toEqual([
        ['checked', 'done', null],
      ]);
    });
  }

  it("a partitioned target's upsert counts its rows with pg_catalog's = and -, not the path's", async () => {
    await sqlIn(s.target1, database, `INSERT INTO ${q}.parted VALUES (1, 'old 1'), (99, 'old 99')`);
    const config = testConfig({ server: s.source, schema }, [{ ...target(), tables: ['parted'] }], {
      mode: 'upsert',
    });
    const first = await run(config);
    expect(first.report?.tables[0]?.changes).toEqual({ inserted: 98, updated: 2, unchanged: 0 });
    const again = await run(config);
    expect(again.report?.tables[0]?.changes).toEqual({ inserted: 0, updated: 0, unchanged: 100 });
  });

  it('an upsert of unchanged rows counts them unchanged (the path has an = on text that is never true)', async () => {
    await sqlIn(s.target1, database, `TRUNCATE ${q}.items, ${app}.seen`);
    const config = testConfig({ server: s.source, schema }, [target()], { mode: 'upsert' });
    await run(config);
    const again = await run(config);
    expect(again.report?.tables[0]?.changes).toEqual({ inserted: 0, updated: 0, unchanged: 100 });
  });

  it("fire through a shared read into two targets, and with the role's search_path in the database", async () => {
    const other = uniqueName('Other');
    await sqlIn(
      s.target1,
      database,
      `CREATE SCHEMA "${other}"; CREATE TABLE "${other}".items (id int PRIMARY KEY, name pg_catalog.text);
       CREATE TRIGGER note_row AFTER INSERT ON "${other}".items
         FOR EACH ROW EXECUTE FUNCTION ${app}.note_row();
       TRUNCATE ${q}.items, ${app}.seen;
       ALTER DATABASE ${database} RESET search_path;
       ALTER ROLE ${s.target1.user} IN DATABASE ${database} SET search_path = ${app}, pg_catalog`,
    );
    try {
      const { plan, report } = await run(
        testConfig({ server: s.source, schema }, [
          target('db_1'),
          { ...target('db_2'), schema: other },
        ]),
      );
      expect(plan.readOnce?.shared.length).toBe(1);
      expect(report?.tables.map((t) => [t.target, t.status, t.error ?? null])).toEqual([
        ['db_1', 'warnings', null],
        ['db_2', 'warnings', null],
      ]);
      expect((await counts()).seen).toBe(200);
    } finally {
      await sqlIn(
        s.target1,
        database,
        `DROP SCHEMA "${other}" CASCADE;
         ALTER ROLE ${s.target1.user} IN DATABASE ${database} RESET search_path;
         ALTER DATABASE ${database} SET search_path = ${app}, pg_catalog`,
      );
    }
  });

  it('plan notes every trigger function that resolves names through the session; fdw-push warns that its session has none', async () => {
    const notes = (await makePlan(testConfig({ server: s.source, schema }, [target()]))).targets[0]
      ?.tables[0]?.notes;
    expect(notes).toContainEqual(
      `trigger functions without a search_path of their own resolve unqualified names through the session's; pgcopy runs the load under the search_path the target's role or database configures: ${app}.note_row() (trigger "note_row")`,
    );
    const pushed = (
      await makePlan(testConfig({ server: s.source, schema }, [target()], { strategy: 'fdw-push' }))
    ).targets[0]?.tables[0]?.warnings;
    expect(
      pushed?.some((w) => w.startsWith('fdw-push: trigger functions without a search_path')),
    ).toBe(true);
    // A function with its own search_path is not named.
    await sqlIn(s.target1, database, `ALTER FUNCTION ${app}.note_row() SET search_path = ${app}`);
    try {
      const after = (await makePlan(testConfig({ server: s.source, schema }, [target()])))
        .targets[0]?.tables[0]?.notes;
      expect(after?.some((n) => n.includes('without a search_path of their own'))).toBe(false);
    } finally {
      await sqlIn(s.target1, database, `ALTER FUNCTION ${app}.note_row() RESET search_path`);
    }
  });

  it('check names the trigger functions the load fires that have no search_path of their own', async () => {
    const w = await workDir({
      source: endpointOf(s.source, schema),
      targets: [{ name: 'db_1', ...endpointOf(s.target1, schema), database, tables: ['items'] }],
      options: { logDir: 'logs', mode: 'truncate' },
    });
    try {
      const result = await cli(['check', '--json', '-c', w.file], { cwd: w.dir });
      const report = JSON.parse(result.stdout) as {
        passed: boolean;
        endpoints: { name: string; sessionPathTriggers?: string[] }[];
      };
      expect(report.passed).toBe(true);
      expect(report.endpoints.map((e) => [e.name, e.sessionPathTriggers])).toEqual([
        ['source', undefined],
        [
          'db_1',
          [
            `${app}.note_row() (trigger "note_row" on items)`,
            `${app}.note_truncate() (trigger "note_truncate" on items)`,
          ],
        ],
      ]);
      const text = await cli(['check', '-c', w.file], { cwd: w.dir });
      expect(text.stdout).toContain(
        `triggers    2 trigger function(s) without a search_path of their own (loaded under the role's or database's): ${app}.note_row() (trigger "note_row" on items)`,
      );
    } finally {
      await w.cleanup();
    }
  });
});
