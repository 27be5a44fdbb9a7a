import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/copy/run.js';
import type { RunEvent } from '../../src/report/events.js';
import { testConfig } from '../support/config.js';
import { pg13Server, servers, sql, tableDigest, uniqueName } from '../support/db.js';

// fdw-push runs postgres_fdw on the source: a PostgreSQL 13 one lacks what 14 added to it.
const s = servers();
const pg13 = pg13Server();
const schema = uniqueName('Push13');
const q = `"${schema}"`;
const table = `CREATE TABLE ${q}.items (id int PRIMARY KEY, name text)`;

beforeAll(async () => {
  await sql(
    pg13,
    `CREATE SCHEMA ${q}; ${table};
     INSERT INTO ${q}.items SELECT g, 'item ' || g FROM generate_series(1, 3000) g;`,
  );
  await sql(s.target2, `CREATE SCHEMA ${q}; ${table};`);
});

afterAll(async () => {
  await sql(pg13, `DROP SCHEMA ${q} CASCADE; DROP EXTENSION IF EXISTS postgres_fdw`);
  await sql(s.target2, `DROP SCHEMA ${q} CASCADE`);
});

const push = (mode: string, events: RunEvent[] = []) =>
  run(
    testConfig(
      { server: pg13, schema },
      [{ name: 'new', server: s.target2, schema, tables: ['items'] }],
      { strategy: 'fdw-push', mode, createExtensions: true, retries: 0 },
    ),
    { onEvent: (e) => events.push(e) },
  );

describe('strategy fdw-push from a PostgreSQL 13 source', () => {
  it('bug: pushing from PostgreSQL 13 must not give postgres_fdw the batch_size option it lacks (14+)', async () => {
    const { report } = await push('append');
    expect(report?.tables[0]?.error).toBeNull();
    expect(report?.tables[0]?.rows).toBe(3000);
    expect(await tableDigest(s.target2, `SELECT * FROM ${q}.items`)).toEqual(
      await tableDigest(pg13, `SELECT * FROM ${q}.items`),
    );
  });

  it('bug: truncate mode must be a plan error, not a failure mid-run (postgres_fdw TRUNCATE is 14+)', async () => {
    const events: RunEvent[] = [];
    const { report } = await push('truncate', events);
    expect(report?.tables[0]?.error?.code).toBe('PLAN');
    const plan = events.find((e) => e.type === 'plan');
    expect(plan?.plan.targets[0]?.tables[0]?.errors).toEqual([
      'strategy fdw-push: postgres_fdw TRUNCATEs a foreign table from PostgreSQL 14 on, and the source is 13; use stream, dblink or fdw, or append into an emptied table',
    ]);
    // The rows of the append above are still there.
    expect((await sql(s.target2, `SELECT count(*)::int AS n FROM ${q}.items`)).rows).toEqual([
      { n: 3000 },
    ]);
  });
});
