import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/copy/run.js';
import { renderPlan } from '../../src/plan/render-plan.js';
import { cli, workDir } from '../support/cli.js';
import { endpointOf, testConfig } from '../support/config.js';
import { servers, sql, uniqueName } from '../support/db.js';

const schema = uniqueName('Default Seqs');
const q = `"${schema}"`;
const role = uniqueName('loader').toLowerCase();
const s = servers();

/**
 * Sequences created on their own and called from column defaults, owned by no column (as the
 * DVD-rental sample schema has them): one shared by two tables, one behind a partitioned table,
 * one already past the copied values, one behind a text column only.
 */
const DDL = `
  CREATE SCHEMA ${q};
  CREATE SEQUENCE ${q}."Shared Seq";
  CREATE TABLE ${q}.film (film_id int DEFAULT nextval('${q}."Shared Seq"') PRIMARY KEY, title text);
  CREATE TABLE ${q}.actor (actor_id int DEFAULT nextval('${q}."Shared Seq"') PRIMARY KEY, name text);
  CREATE SEQUENCE ${q}.payment_seq;
  CREATE TABLE ${q}.payment (payment_id bigint DEFAULT nextval('${q}.payment_seq'), paid_on date)
    PARTITION BY RANGE (paid_on);
  CREATE TABLE ${q}.payment_2024 PARTITION OF ${q}.payment FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
  CREATE TABLE ${q}.payment_2025 PARTITION OF ${q}.payment FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
  CREATE SEQUENCE ${q}.store_seq;
  CREATE SEQUENCE ${q}.ref_seq;
  CREATE TABLE ${q}.store (store_id int DEFAULT nextval('${q}.store_seq') PRIMARY KEY,
    code text DEFAULT 'S-' || nextval('${q}.store_seq'),
    ref text DEFAULT 'R-' || nextval('${q}.ref_seq'));
`;

beforeAll(async () => {
  await sql(
    s.source,
    `${DDL}
    INSERT INTO ${q}.film SELECT g, 'f' || g FROM generate_series(1, 1000) g;
    INSERT INTO ${q}.actor SELECT g, 'a' || g FROM generate_series(1, 200) g;
    INSERT INTO ${q}.payment SELECT g, DATE '2024-01-01' + g % 700 FROM generate_series(1, 5000) g;
    INSERT INTO ${q}.store SELECT g, 'S-' || g, 'R-' || g FROM generate_series(1, 30) g;
  `,
  );
  await sql(
    s.target1,
    `${DDL} ALTER SEQUENCE ${q}.store_seq RESTART WITH 900;
    CREATE ROLE ${role} LOGIN PASSWORD '${role}-pw';
    GRANT USAGE ON SCHEMA ${q} TO ${role};
    -- The partitioned table only, not its partitions: PostgreSQL checks the table named.
    GRANT SELECT, INSERT, TRUNCATE ON ${q}.payment, ${q}.film TO ${role};`,
  );
});

afterAll(async () => {
  await sql(s.source, `DROP SCHEMA ${q} CASCADE`);
  await sql(s.target1, `DROP SCHEMA ${q} CASCADE; DROP OWNED BY ${role}; DROP ROLE ${role}`);
});

async function nextValue(sequence: string): Promise<number> {
  const { rows } = await sql(s.target1, `SELECT nextval($1)::int AS v`, [`${q}.${sequence}`]);
  return (rows[0] as { v: number }).v;
}

describe('sequences used by a column default but not owned by the column', () => {
  it('moves each past the copied values, a shared one to the highest of its tables, never back, and the plan lists them', async () => {
    const config = testConfig({ server: s.source, schema }, [
      { name: 'db_1', server: s.target1, schema, tables: ['actor', 'film', 'payment', 'store'] },
    ]);
    const { plan, report } = await run(config, { concurrency: 2 });
    const tables = plan.targets[0]?.tables ?? [];
    expect(tables.map((t) => [t.targetTable, t.sequences])).toEqual([
      ['actor', [{ column: 'actor_id', schema, name: 'Shared Seq' }]],
      ['film', [{ column: 'film_id', schema, name: 'Shared Seq' }]],
      ['payment', [{ column: 'payment_id', schema, name: 'payment_seq' }]],
      ['store', [{ column: 'store_id', schema, name: 'store_seq' }]],
    ]);
    expect(tables[3]?.warnings).toEqual([
      `sequence ${schema}.ref_seq of column "ref" is not advanced: the column is not an integer, so its values do not say how far`,
    ]);
    expect(renderPlan(plan)).toContain(
      `  ↑ film: moves sequences past the copied values: ${schema}.Shared Seq ("film_id")\n`,
    );
    expect(report?.tables.map((t) => [t.table, t.status])).toEqual([
      ['actor', 'done'],
      ['film', 'done'],
      ['payment', 'done'],
      ['store', 'warnings'],
    ]);
    // The application's next inserts draw fresh values.
    expect(await nextValue('"Shared Seq"')).toBe(1001);
    expect(await nextValue('payment_seq')).toBe(5001);
    expect(await nextValue('store_seq')).toBe(900);
    await sql(s.target1, `INSERT INTO ${q}.actor (name) VALUES ('new')`);
    await sql(s.target1, `INSERT INTO ${q}.payment (paid_on) VALUES ('2025-06-01')`);
  });

  it('pgcopy check asks for SELECT and UPDATE on the sequences behind defaults, and nothing on partitions', async () => {
    const check = async (): Promise<{ code: number; stdout: string }> => {
      const work = await workDir({
        source: endpointOf(s.source, schema),
        targets: [
          {
            name: 'db_1',
            ...endpointOf(s.target1, schema),
            user: role,
            password: `${role}-pw`,
            tables: ['payment', 'film'],
          },
        ],
        options: { mode: 'truncate' },
      });
      try {
        return await cli(['check', '-c', work.file]);
      } finally {
        await work.cleanup();
      }
    };
    const before = await check();
    expect(before.code).toBe(1);
    expect(before.stdout).toContain(
      `  privileges  MISSING: SELECT, UPDATE on sequence ${schema}.Shared Seq; SELECT, UPDATE on sequence ${schema}.payment_seq\n`,
    );
    await sql(s.target1, `GRANT SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA ${q} TO ${role}`);
    const after = await check();
    expect(after.stdout).toContain('  privileges  ok (2 tables)\n');
    expect(after.code).toBe(0);
  });
});
