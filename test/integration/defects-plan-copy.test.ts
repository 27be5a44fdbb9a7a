import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/validate.js';
import { run } from '../../src/copy/run.js';
import { Connectors } from '../../src/db/connectors.js';
import { ConfigError } from '../../src/errors.js';
import { makePlan } from '../../src/plan/make-plan.js';
import type { Plan, TablePlan } from '../../src/plan/types.js';
import { resolveEndpoints } from '../../src/secrets/resolve-endpoints.js';
import { endpointOf, testConfig, type TestTarget } from '../support/config.js';
import { result } from '../support/report.js';
import { connect, servers, sql, sqlIn, uniqueName } from '../support/db.js';

/** Regression tests for the plan and copy defects found by adversarial use, one block per defect. */

const schema = uniqueName('Defects');
const q = `"${schema}"`;
const s = servers();

async function planOf(targets: readonly TestTarget[]): Promise<Plan> {
  const config = testConfig({ server: s.source, schema }, targets);
  const connectors = new Connectors(await resolveEndpoints(config));
  try {
    return await makePlan(config, connectors);
  } finally {
    await connectors.close();
  }
}

function tableOf(plan: Plan, name: string, target = 0): TablePlan {
  const found = plan.targets[target]?.tables.find((t) => t.targetTable === name);
  if (!found) throw new Error(`no plan for ${name}`);
  return found;
}

async function count(server: typeof s.source, table: string): Promise<number> {
  const r = await sql(server, `SELECT count(*)::int AS n FROM ${table}`);
  return (r.rows[0] as { n: number }).n;
}

beforeAll(async () => {
  for (const server of [s.source, s.target1]) {
    await sql(server, `CREATE SCHEMA ${q}`);
  }
});

afterAll(async () => {
  for (const server of [s.source, s.target1]) {
    await sql(server, `DROP SCHEMA IF EXISTS ${q} CASCADE`);
  }
});

describe('inheritance: every statement touches the named table only', () => {
  const inherit = `
    CREATE TABLE ${q}.inh_parent (id int, v text);
    CREATE TABLE ${q}.inh_child (extra text) INHERITS (${q}.inh_parent);
    CREATE TABLE ${q}.inh_other_child () INHERITS (${q}.inh_parent);`;

  beforeAll(async () => {
    await sql(
      s.source,
      `${inherit}
       INSERT INTO ${q}.inh_parent SELECT g, 'parent' FROM generate_series(1, 10) g;
       INSERT INTO ${q}.inh_child SELECT g, 'child', 'x' FROM generate_series(101, 105) g;
       INSERT INTO ${q}.inh_other_child SELECT g, 'other' FROM generate_series(201, 203) g;`,
    );
    await sql(
      s.target1,
      `${inherit}
       INSERT INTO ${q}.inh_parent VALUES (-1, 'old parent row');
       INSERT INTO ${q}.inh_child VALUES (-2, 'target child row', 'keep me');`,
    );
  });

  it('truncate mode on an inheritance parent keeps the rows of its children (target) and copies only its own (source)', async () => {
    const config = testConfig({ server: s.source, schema }, [
      {
        name: 'db_1',
        server: s.target1,
        schema,
        tables: [{ name: 'inh_parent', mode: 'truncate' }],
      },
    ]);
    const { plan, report } = await run(config);
    expect(result(report, 'inh_parent').status).toBe('warnings');
    expect(result(report, 'inh_parent').rows).toBe(10);
    // The target's child table is not in the config: untouched.
    expect((await sql(s.target1, `SELECT id, v FROM ${q}.inh_child`)).rows).toEqual([
      { id: -2, v: 'target child row' },
    ]);
    // The parent itself holds exactly the source parent's own rows.
    const own = await sql(
      s.target1,
      `SELECT min(id) AS lo, max(id) AS hi, count(*)::int AS n FROM ONLY ${q}.inh_parent`,
    );
    expect(own.rows).toEqual([{ lo: 1, hi: 10, n: 10 }]);
    const planned = tableOf(plan, 'inh_parent');
    expect(planned.notes?.join('\n')).toContain('only its own rows are copied (ONLY)');
    expect(planned.notes?.join('\n')).toContain(
      `truncate empties this table only (TRUNCATE ONLY); its children "${schema}"."inh_child", "${schema}"."inh_other_child" keep their rows`,
    );
    expect(planned.warnings).toContain(
      `inheritance children "${schema}"."inh_child", "${schema}"."inh_other_child" of the source table are not in this target's tables: their rows are not copied`,
    );
  });

  it('an inheritance parent and its children listed together copy each table once, in every mode', async () => {
    // Unique indexes are not inherited: each table has its own for upsert.
    for (const table of ['inh_parent', 'inh_child', 'inh_other_child']) {
      await sql(s.target1, `ALTER TABLE ${q}.${table} ALTER COLUMN id SET NOT NULL`);
      await sql(s.target1, `CREATE UNIQUE INDEX ON ${q}.${table} (id)`);
    }
    for (const mode of ['append', 'truncate', 'upsert'] as const) {
      if (mode === 'append') {
        await sql(s.target1, `TRUNCATE ${q}.inh_parent, ${q}.inh_child, ${q}.inh_other_child`);
      }
      const config = testConfig({ server: s.source, schema }, [
        {
          name: 'db_1',
          server: s.target1,
          schema,
          tables: ['inh_parent', 'inh_child', 'inh_other_child'].map((name) => ({ name, mode })),
        },
      ]);
      const { plan, report } = await run(config);
      expect(tableOf(plan, 'inh_parent').warnings).toEqual([]);
      expect(report?.tables.map((t) => [t.table, t.rows, t.error])).toEqual([
        ['inh_parent', 10, null],
        ['inh_child', 5, null],
        ['inh_other_child', 3, null],
      ]);
      // Read through the parent, the target holds each source row exactly once.
      expect(await count(s.target1, `${q}.inh_parent`)).toBe(18);
    }
  });

  it('a `where` filter is checked against the parent alone', async () => {
    const plan = await planOf([
      {
        name: 'db_1',
        server: s.target1,
        schema,
        tables: [{ name: 'inh_parent', where: 'id > 5' }],
      },
    ]);
    expect(tableOf(plan, 'inh_parent').errors).toEqual([]);
  });
});

describe('no user object stands in for one of pgcopy', () => {
  const database = `pgcopy_sp_${randomBytes(3).toString('hex')}`;

  beforeAll(async () => {
    await sql(s.target1, `CREATE DATABASE ${database}`);
    const client = await connect(s.target1);
    try {
      // A hostile (or careless) database: its own tables come before pg_temp.
      await client.query(`ALTER DATABASE ${database} SET search_path = public, pg_temp`);
    } finally {
      await client.end();
    }
    await sql(
      s.source,
      `CREATE TABLE ${q}.staged (id int PRIMARY KEY, v text);
       INSERT INTO ${q}.staged SELECT g, 'source ' || g FROM generate_series(1, 20) g;`,
    );
  });

  afterAll(async () => {
    await sql(s.target1, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  });

  it('upsert stages rows in pg_temp, never in a user table named like the staging table', async () => {
    await sqlIn(
      s.target1,
      database,
      `CREATE TABLE public.staged (id int PRIMARY KEY, v text);
       CREATE TABLE public.pgcopy_staging (id int, v text);
       INSERT INTO public.pgcopy_staging VALUES (666, 'planted row');`,
    );
    const config = validateConfig({
      source: endpointOf(s.source, schema),
      targets: [
        {
          name: 'db_1',
          ...endpointOf(s.target1, 'public'),
          database,
          tables: [{ name: 'staged', mode: 'upsert' }],
        },
      ],
    });
    const { report } = await run(config);
    expect(result(report, 'staged')).toMatchObject({ status: 'done', rows: 20 });
    const copied = await sqlIn(
      s.target1,
      database,
      `SELECT count(*)::int AS n, max(id) AS hi FROM public.staged`,
    );
    expect(copied.rows).toEqual([{ n: 20, hi: 20 }]);
    const planted = await sqlIn(s.target1, database, `SELECT id, v FROM public.pgcopy_staging`);
    expect(planted.rows).toEqual([{ id: 666, v: 'planted row' }]);
  });

  it('every session pgcopy opens resolves names in pg_catalog, then only its own pg_temp', async () => {
    const config = testConfig({ server: s.source, schema }, [
      { name: 'db_1', server: s.target1, schema, tables: ['x'] },
    ]);
    const connectors = new Connectors(await resolveEndpoints(config));
    try {
      for (const connector of [connectors.source, connectors.target('db_1')]) {
        const client = await connector.connect();
        const shown = await client.query<{ search_path: string }>('SHOW search_path');
        await client.end();
        expect(shown.rows[0]?.search_path).toBe('pg_catalog, pg_temp');
      }
    } finally {
      await connectors.close();
    }
  });
});

describe('a `where` filter only ever filters', () => {
  const escapes = [
    'true); COMMIT; DROP TABLE victim; SELECT (1',
    'true) OR (true',
    'id > 0; DELETE FROM victim',
    'id > 0 /* unterminated comment',
    "v = 'unterminated",
    'v = $$unterminated',
    '(id > 0',
    '  ',
  ];

  it('refuses, at config time, a filter that is not one condition of the WHERE clause', () => {
    for (const where of escapes) {
      expect(() =>
        validateConfig({
          source: endpointOf(s.source, schema),
          targets: [
            { name: 't', ...endpointOf(s.target1, schema), tables: [{ name: 'victim', where }] },
          ],
        }),
      ).toThrow(ConfigError);
    }
    let message = '';
    try {
      validateConfig({
        source: endpointOf(s.source, schema),
        targets: [
          {
            name: 't',
            ...endpointOf(s.target1, schema),
            tables: ['a', { name: 'victim', where: escapes[2] }],
          },
        ],
      });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe(
      'targets[0].tables[1].where: contains ";": a filter is one condition, not statements',
    );
  });

  it('accepts parentheses, semicolons and quotes inside strings, identifiers, dollar quotes and comments', async () => {
    await sql(
      s.source,
      `CREATE TABLE ${q}.victim (id int, v text, "odd)name;" int);
       INSERT INTO ${q}.victim VALUES (1, ')', 0), (2, ';', 0), (3, 'it''s', 0), (4, 'x', 0);`,
    );
    await sql(s.target1, `CREATE TABLE ${q}.victim (id int, v text, "odd)name;" int)`);
    const where = [
      `v IN (')', ';', 'it''s')`,
      `OR v = E'\\x78' -- a comment with ) and ;`,
      `OR v = $tag$)$tag$ /* a ) comment ; /* nested */ */ OR "odd)name;" < 0`,
    ].join('\n');
    const config = testConfig({ server: s.source, schema }, [
      { name: 'db_1', server: s.target1, schema, tables: [{ name: 'victim', where }] },
    ]);
    const { report } = await run(config);
    expect(result(report, 'victim')).toMatchObject({ status: 'done', rows: 4 });
  });

  it('a filter that calls a writing function cannot write: it runs read-only, in plan and run', async () => {
    await sql(
      s.source,
      `CREATE SEQUENCE ${q}.touched;
       CREATE TABLE ${q}.writer (id int);
       INSERT INTO ${q}.writer VALUES (1);`,
    );
    await sql(s.target1, `CREATE TABLE ${q}.writer (id int)`);
    const where = `pg_catalog.nextval('${q}.touched') > 0`;
    const config = testConfig({ server: s.source, schema }, [
      { name: 'db_1', server: s.target1, schema, tables: [{ name: 'writer', where }] },
    ]);
    const { report } = await run(config);
    expect(result(report, 'writer').status).toBe('error');
    expect(result(report, 'writer').error?.message).toContain('read-only transaction');
    const seq = await sql(s.source, `SELECT is_called FROM ${q}.touched`);
    expect(seq.rows).toEqual([{ is_called: false }]);
  });
});

describe('upsert keys PostgreSQL can use and that key every row', () => {
  beforeAll(async () => {
    const tables = `
      CREATE TABLE ${q}.up_nullable (id int, email text, v text);
      CREATE TABLE ${q}.up_deferrable (id int NOT NULL, v text);
      CREATE TABLE ${q}.up_fallback (id int NOT NULL, code text NOT NULL, v text);
      CREATE TABLE ${q}.up_nnd (email text, v text);`;
    await sql(
      s.source,
      `${tables}
       INSERT INTO ${q}.up_nullable VALUES (1, NULL, 'a'), (2, 'b@x', 'b');
       INSERT INTO ${q}.up_nnd VALUES (NULL, 'a'), ('b@x', 'b');`,
    );
    await sql(
      s.target1,
      `${tables}
       ALTER TABLE ${q}.up_nullable ADD CONSTRAINT up_nullable_email UNIQUE (email);
       ALTER TABLE ${q}.up_deferrable ADD CONSTRAINT up_deferrable_pk PRIMARY KEY (id) DEFERRABLE;
       ALTER TABLE ${q}.up_fallback ADD CONSTRAINT up_fallback_pk PRIMARY KEY (id) DEFERRABLE INITIALLY DEFERRED;
       ALTER TABLE ${q}.up_fallback ADD CONSTRAINT up_fallback_code UNIQUE (code);
       ALTER TABLE ${q}.up_nnd ADD CONSTRAINT up_nnd_email UNIQUE NULLS NOT DISTINCT (email);`,
    );
  });

  it('refuses a unique key with nullable columns, and a deferrable key, naming the key; picks a usable one', async () => {
    const plan = await planOf([
      {
        name: 'db_1',
        server: s.target1,
        schema,
        tables: ['up_nullable', 'up_deferrable', 'up_fallback', 'up_nnd'].map((name) => ({
          name,
          mode: 'upsert',
        })),
      },
    ]);
    expect(tableOf(plan, 'up_nullable').errors).toEqual([
      'upsert: key "up_nullable_email" ("email") allows NULLs, so rows whose key is NULL would be inserted again on every run (make its columns NOT NULL, or the key NULLS NOT DISTINCT)',
    ]);
    expect(tableOf(plan, 'up_deferrable').errors).toEqual([
      'upsert: key "up_deferrable_pk" ("id") is DEFERRABLE, and PostgreSQL refuses a deferrable key for ON CONFLICT',
    ]);
    expect(tableOf(plan, 'up_fallback').conflictKey).toEqual(['code']);
    expect(tableOf(plan, 'up_fallback').errors).toEqual([]);
    expect(tableOf(plan, 'up_nnd').conflictKey).toEqual(['email']);
  });

  it('upserting twice on a NULLS NOT DISTINCT key keeps one row per key, NULL included', async () => {
    const config = testConfig({ server: s.source, schema }, [
      { name: 'db_1', server: s.target1, schema, tables: [{ name: 'up_nnd', mode: 'upsert' }] },
    ]);
    await run(config);
    await run(config);
    expect(await count(s.target1, `${q}.up_nnd`)).toBe(2);
  });
});

describe('conversions: decided by what the target reads, narrowing flagged', () => {
  beforeAll(async () => {
    await sql(
      s.source,
      `CREATE TABLE ${q}.conv (id int, price money, span int4range, amount numeric, code text, label text,
                               at timestamptz, big bigint);
       INSERT INTO ${q}.conv VALUES (1, 12.5, '[1,5)', 123.456, '42', 'a long label', now(), 7);`,
    );
    await sql(
      s.target1,
      `CREATE TABLE ${q}.conv (id int, price numeric, span int4multirange, amount numeric(5,0), code int,
                               label varchar(5), at timestamp(0), big int);
       CREATE TABLE ${q}.conv_words (id int, code int);`,
    );
    await sql(
      s.source,
      `CREATE TABLE ${q}.conv_words (id int, code text);
       INSERT INTO ${q}.conv_words VALUES (1, '7'), (2, 'seven');`,
    );
  });

  it('refuses pairs whose values the target cannot read, and warns of every narrowing', async () => {
    const plan = await planOf([
      { name: 'db_1', server: s.target1, schema, tables: ['conv', 'conv_words'] },
    ]);
    const conv = tableOf(plan, 'conv');
    expect(conv.errors).toEqual([
      'column "price": money cannot be converted to numeric',
      'column "span": int4range cannot be converted to int4multirange',
    ]);
    const warnings = conv.warnings.join('\n');
    expect(warnings).toContain(
      'column "amount": numeric -> numeric(5,0) converted through text; may lose data: a fixed number of digits',
    );
    expect(warnings).toContain(
      'column "label": text -> character varying(5) converted through text; may lose data: a length limit of 5',
    );
    expect(warnings).toContain(
      'column "at": timestamp with time zone -> timestamp(0) without time zone',
    );
    expect(warnings).toContain(
      'column "big": bigint -> integer converted through text; may lose data: a smaller integer type',
    );
    expect(warnings).not.toContain(
      'column "code": text -> integer converted through text; may lose',
    );
    // Text that holds a word where the target wants a number: found on a sample of the source.
    expect(tableOf(plan, 'conv_words').errors).toEqual([
      'column "code": text -> integer: the target refuses 1 of 2 sampled source values (invalid input syntax for type integer: "seven")',
    ]);
  });

  it('bug: the sample was read with ::text (bool as true, inet with /32), not as COPY prints it: the plan refused pairs the copy converts', async () => {
    await sql(
      s.source,
      `CREATE TABLE ${q}.conv_printed (id int, flag bool, ip inet);
       INSERT INTO ${q}.conv_printed VALUES (1, true, '10.0.0.1'), (2, false, NULL);`,
    );
    await sql(s.target1, `CREATE TABLE ${q}.conv_printed (id int, flag varchar(1), ip varchar(8))`);
    const plan = await planOf([
      { name: 'db_1', server: s.target1, schema, tables: ['conv_printed'] },
    ]);
    expect(tableOf(plan, 'conv_printed').errors).toEqual([]);
  });

  it.runIf(s.pg15)(
    'tries sampled values on a PostgreSQL 15 target too (no pg_input_is_valid there)',
    async () => {
      const old = s.pg15;
      if (!old) return;
      await sql(old, `CREATE SCHEMA ${q}; CREATE TABLE ${q}.conv_words (id int, code int)`);
      try {
        const plan = await planOf([{ name: 'old', server: old, schema, tables: ['conv_words'] }]);
        expect(tableOf(plan, 'conv_words').errors).toEqual([
          'column "code": text -> integer: the target refuses 1 of 2 sampled source values (invalid input syntax for type integer: "seven")',
        ]);
      } finally {
        await sql(old, `DROP SCHEMA ${q} CASCADE`);
      }
    },
  );
});

describe('a table that fails reports nothing written', () => {
  it('a table failing at COMMIT (deferred constraint) reports 0 rows and 0 bytes; totals exclude it', async () => {
    await sql(
      s.source,
      `CREATE TABLE ${q}.deferred (id int, ref int);
       INSERT INTO ${q}.deferred SELECT g, g + 1000 FROM generate_series(1, 500) g;`,
    );
    await sql(
      s.target1,
      `CREATE TABLE ${q}.deferred_parent (id int PRIMARY KEY);
       CREATE TABLE ${q}.deferred (id int, ref int REFERENCES ${q}.deferred_parent DEFERRABLE INITIALLY DEFERRED);`,
    );
    const config = testConfig({ server: s.source, schema }, [
      { name: 'db_1', server: s.target1, schema, tables: ['deferred'] },
    ]);
    const { report } = await run(config);
    const failed = result(report, 'deferred');
    expect(failed.error?.sqlstate).toBe('23503');
    expect([failed.rows, failed.bytes]).toEqual([0, 0]);
    expect(failed.rolledBack?.rows).toBe(500);
    expect(await count(s.target1, `${q}.deferred`)).toBe(0);
  });
});

describe('a table copied onto itself', () => {
  it('is a plan error in every mode, whatever address reaches the source', async () => {
    await sql(s.source, `CREATE TABLE ${q}.selfish (id int); INSERT INTO ${q}.selfish VALUES (1)`);
    for (const mode of ['truncate', 'append', 'upsert'] as const) {
      const config = testConfig({ server: s.source, schema }, [
        { name: 'itself', server: s.source, schema, tables: [{ name: 'selfish', mode }] },
      ]);
      const { plan, report } = await run(config);
      expect(tableOf(plan, 'selfish').errors).toContain(
        `the target table is the source table itself ("${schema}"."selfish" in the same database)`,
      );
      expect(result(report, 'selfish').error?.code).toBe('PLAN');
    }
    expect(await count(s.source, `${q}.selfish`)).toBe(1);
  });
});

describe('a table without columns', () => {
  it('is found on both sides and its rows are copied', async () => {
    await sql(
      s.source,
      `CREATE TABLE ${q}.no_columns (); INSERT INTO ${q}.no_columns DEFAULT VALUES; INSERT INTO ${q}.no_columns DEFAULT VALUES;`,
    );
    await sql(s.target1, `CREATE TABLE ${q}.no_columns ()`);
    const config = testConfig({ server: s.source, schema }, [
      {
        name: 'db_1',
        server: s.target1,
        schema,
        tables: [{ name: 'no_columns', mode: 'truncate' }],
      },
    ]);
    const { plan, report } = await run(config);
    expect(tableOf(plan, 'no_columns').errors).toEqual([]);
    expect(result(report, 'no_columns')).toMatchObject({ status: 'done', rows: 2 });
    expect(await count(s.target1, `${q}.no_columns`)).toBe(2);
  });
});
