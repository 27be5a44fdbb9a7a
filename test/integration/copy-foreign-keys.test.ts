import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/copy/run.js';
import type { RunEvent } from '../../src/report/events.js';
import { servers, sql, tableDigest, uniqueName } from '../support/db.js';
import { testConfig } from '../support/config.js';

const schema = uniqueName('foreign_keys');
const q = `"${schema}"`;
const s = servers();

beforeAll(async () => {
  await sql(
    s.source,
    `
    CREATE SCHEMA ${q};
    CREATE TABLE ${q}.customer (id int PRIMARY KEY, name text);
    INSERT INTO ${q}.customer SELECT g, 'c' || g FROM generate_series(1, 2000) g;
    CREATE TABLE ${q}.orders (id int PRIMARY KEY, customer_id int REFERENCES ${q}.customer, total numeric);
    INSERT INTO ${q}.orders SELECT g, 1 + g % 2000, g FROM generate_series(1, 200000) g;
    CREATE TABLE ${q}.notes (id int, body text);
    INSERT INTO ${q}.notes SELECT g, 'n' FROM generate_series(1, 50000) g;
    ANALYZE;
  `,
  );
  await sql(
    s.target1,
    `
    CREATE SCHEMA ${q};
    CREATE TABLE ${q}.customer (id int PRIMARY KEY, name text);
    CREATE TABLE ${q}.orders (id int PRIMARY KEY, customer_id int REFERENCES ${q}.customer, total numeric);
    CREATE TABLE ${q}.notes (id int, body text);
  `,
  );
});

afterAll(async () => {
  await sql(s.source, `DROP SCHEMA ${q} CASCADE`);
  await sql(s.target1, `DROP SCHEMA ${q} CASCADE`);
});

describe('foreign keys between the tables of a run', () => {
  it('loads the referenced table first even when the child is larger, so its checks pass', async () => {
    const events: RunEvent[] = [];
    const config = testConfig({ server: s.source, schema }, [
      { name: 'db_1', server: s.target1, schema, tables: ['orders', 'customer', 'notes'] },
    ]);
    const { plan, report } = await run(config, { concurrency: 4, onEvent: (e) => events.push(e) });
    expect(plan.targets[0]?.tables.map((t) => t.loadsAfter ?? [])).toEqual([['customer'], [], []]);
    expect(report?.tables.map((t) => [t.table, t.status])).toEqual([
      ['orders', 'done'],
      ['customer', 'done'],
      ['notes', 'done'],
    ]);
    const order = events.flatMap((e) =>
      e.type === 'table-start'
        ? [`start ${e.ref.table}`]
        : e.type === 'table-done'
          ? [`done ${e.result.table}`]
          : [],
    );
    expect(order.indexOf('start orders')).toBeGreaterThan(order.indexOf('done customer'));
    // The largest table that is free to start goes first.
    expect(order[0]).toBe('start notes');
    expect(await tableDigest(s.target1, `SELECT * FROM ${q}.orders`)).toEqual(
      await tableDigest(s.source, `SELECT * FROM ${q}.orders`),
    );
  });
});
