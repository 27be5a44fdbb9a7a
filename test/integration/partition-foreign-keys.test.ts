import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/copy/run.js';
import { plan as makePlan } from '../../src/index.js';
import { servers, sql, tableDigest, uniqueName } from '../support/db.js';
import { testConfig } from '../support/config.js';

const schema = uniqueName('Partition FKs');
const q = `"${schema}"`;
const s = servers();

/**
 * orders is partitioned two levels deep and declares no foreign key itself: each leaf does
 * (as pg_dump output of older schemas has it). payments references orders as a whole, refunds
 * references one partition only.
 */
const DDL = `
  CREATE SCHEMA ${q};
  CREATE TABLE ${q}.customers (id int PRIMARY KEY, name text);
  CREATE TABLE ${q}.orders (id int, customer_id int, region text, placed_at date,
    PRIMARY KEY (id, placed_at, region)) PARTITION BY RANGE (placed_at);
  CREATE TABLE ${q}.orders_2024 PARTITION OF ${q}.orders
    FOR VALUES FROM ('2024-01-01') TO ('2025-01-01') PARTITION BY LIST (region);
  CREATE TABLE ${q}.orders_2024_eu PARTITION OF ${q}.orders_2024 FOR VALUES IN ('eu');
  CREATE TABLE ${q}.orders_2024_us PARTITION OF ${q}.orders_2024 FOR VALUES IN ('us');
  CREATE TABLE ${q}.orders_2025 PARTITION OF ${q}.orders FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
  ALTER TABLE ${q}.orders_2024_eu ADD FOREIGN KEY (customer_id) REFERENCES ${q}.customers;
  ALTER TABLE ${q}.orders_2024_us ADD FOREIGN KEY (customer_id) REFERENCES ${q}.customers;
  ALTER TABLE ${q}.orders_2025 ADD FOREIGN KEY (customer_id) REFERENCES ${q}.customers;
  CREATE TABLE ${q}.payments (id int PRIMARY KEY, order_id int, placed_at date, region text,
    FOREIGN KEY (order_id, placed_at, region) REFERENCES ${q}.orders);
  CREATE TABLE ${q}.refunds (id int PRIMARY KEY, order_id int, placed_at date, region text,
    FOREIGN KEY (order_id, placed_at, region) REFERENCES ${q}.orders_2025);
`;

beforeAll(async () => {
  await sql(
    s.source,
    `${DDL}
    INSERT INTO ${q}.customers SELECT g, 'c' || g FROM generate_series(1, 100) g;
    INSERT INTO ${q}.orders
      SELECT g, 1 + g % 100, CASE WHEN g % 2 = 0 THEN 'eu' ELSE 'us' END,
             DATE '2024-01-01' + (g % 700)
        FROM generate_series(1, 3000) g;
    INSERT INTO ${q}.payments SELECT id, id, placed_at, region FROM ${q}.orders WHERE id % 3 = 0;
    INSERT INTO ${q}.refunds SELECT id, id, placed_at, region FROM ${q}.orders_2025 WHERE id % 5 = 0;
  `,
  );
  await sql(s.target1, DDL);
});

afterAll(async () => {
  await sql(s.source, `DROP SCHEMA ${q} CASCADE`);
  await sql(s.target1, `DROP SCHEMA ${q} CASCADE`);
});

const TABLES = ['refunds', 'payments', 'orders', 'customers'];

describe('foreign keys declared on partitions', () => {
  it('orders the load by the keys of partitions at any depth and of references to a partition, so even concurrency 1 passes', async () => {
    const config = testConfig({ server: s.source, schema }, [
      { name: 'db_1', server: s.target1, schema, tables: TABLES },
    ]);
    const { plan, report } = await run(config, { concurrency: 1 });
    expect(plan.targets[0]?.tables.map((t) => [t.targetTable, t.loadsAfter ?? []])).toEqual([
      ['refunds', ['orders']],
      ['payments', ['orders']],
      ['orders', ['customers']],
      ['customers', []],
    ]);
    expect(report?.tables.map((t) => [t.table, t.status, t.error?.message])).toEqual(
      TABLES.map((t) => [t, 'done', undefined]),
    );
    for (const table of TABLES) {
      expect(await tableDigest(s.target1, `SELECT * FROM ${q}.${table}`)).toEqual(
        await tableDigest(s.source, `SELECT * FROM ${q}.${table}`),
      );
    }
  });

  it('truncates a table a partition, or a table referencing one of its partitions, points at only together with them (a truncate group)', async () => {
    const tables = (selection: readonly string[]) =>
      testConfig(
        { server: s.source, schema },
        [{ name: 'db_1', server: s.target1, schema, tables: selection }],
        { mode: 'truncate' },
      );
    const partial = (await makePlan(tables(['orders', 'customers']))).targets[0]?.tables ?? [];
    expect(Object.fromEntries(partial.map((t) => [t.targetTable, t.errors]))).toEqual({
      orders: [
        `truncate: "${schema}"."payments" references this table by foreign key and is not among this target's tables, so PostgreSQL refuses to TRUNCATE this table (add it in truncate mode to replace both together, or use append or upsert)`,
      ],
      customers: [
        `truncate: "${schema}"."orders" references this table by foreign key and is not copied (the plan refuses it), so PostgreSQL refuses to TRUNCATE this table (use append or upsert)`,
      ],
    });
    const { plan, report } = await run(tables(TABLES), { concurrency: 2 });
    expect(plan.targets[0]?.truncateGroups).toEqual([
      { tables: ['customers', 'orders', 'refunds', 'payments'] },
    ]);
    expect(report?.tables.map((t) => [t.table, t.error?.message])).toEqual(
      TABLES.map((t) => [t, undefined]),
    );
    for (const table of TABLES) {
      expect(await tableDigest(s.target1, `SELECT * FROM ${q}.${table}`)).toEqual(
        await tableDigest(s.source, `SELECT * FROM ${q}.${table}`),
      );
    }
  });
});
