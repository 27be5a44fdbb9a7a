import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/copy/run.js';
import { testConfig } from '../support/config.js';
import { servers, sql, tableDigest, uniqueName } from '../support/db.js';
import { leftoverSessions } from '../support/faults.js';
import { result } from '../support/report.js';

const schema = uniqueName('Dropped');
const q = `"${schema}"`;
const s = servers();

beforeAll(async () => {
  await sql(
    s.source,
    `CREATE SCHEMA ${q};
     CREATE TABLE ${q}.big (id int PRIMARY KEY, payload text);
     INSERT INTO ${q}.big SELECT g, repeat('x', 100) FROM generate_series(1, 100000) g;
     CREATE TABLE ${q}.gone (id int PRIMARY KEY);
     INSERT INTO ${q}.gone SELECT generate_series(1, 10);`,
  );
  await sql(
    s.target1,
    `CREATE SCHEMA ${q};
     CREATE TABLE ${q}.big (id int PRIMARY KEY, payload text);
     CREATE TABLE ${q}.gone (id int PRIMARY KEY); INSERT INTO ${q}.gone VALUES (-1);`,
  );
});

afterAll(async () => {
  await sql(s.source, `DROP SCHEMA ${q} CASCADE`);
  await sql(s.target1, `DROP SCHEMA ${q} CASCADE`);
});

describe('fault suite: the source table dropped between plan and copy', () => {
  it('that table ends error (42P01, not retried), untouched; the other table completes', async () => {
    const before = await tableDigest(s.target1, `SELECT * FROM ${q}.gone`);
    const config = testConfig(
      { server: s.source, schema },
      [{ name: 'db_1', server: s.target1, schema, tables: ['big', 'gone'] }],
      { mode: 'truncate', concurrency: 1 },
    );
    let dropped: Promise<unknown> | undefined;
    // One worker, the larger table first: `gone` is dropped while `big` copies, after the plan.
    const { report } = await run(config, {
      onEvent: (event) => {
        if (event.type === 'table-start' && event.ref.table === 'big') {
          dropped = sql(s.source, `DROP TABLE ${q}.gone`);
        }
        if (event.type === 'table-start' && event.ref.table === 'gone') {
          expect(dropped).toBeDefined();
        }
      },
    });
    await dropped;
    expect(result(report, 'big')).toMatchObject({ status: 'done', rows: 100000 });
    const gone = result(report, 'gone');
    expect(gone).toMatchObject({ status: 'error', rows: 0, attempts: 1 });
    expect(gone.error?.sqlstate).toBe('42P01');
    expect(await tableDigest(s.target1, `SELECT * FROM ${q}.gone`)).toEqual(before);
    expect(await leftoverSessions(s.source, schema)).toBe(0);
    expect(await leftoverSessions(s.target1, schema)).toBe(0);
  });
});
