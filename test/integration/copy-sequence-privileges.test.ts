import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/copy/run.js';
import { servers, sql, uniqueName } from '../support/db.js';
import { testConfig } from '../support/config.js';

const schema = uniqueName('seq_privs');
const q = `"${schema}"`;
const role = uniqueName('loader').toLowerCase();
const s = servers();

beforeAll(async () => {
  await sql(
    s.source,
    `
    CREATE SCHEMA ${q};
    CREATE TABLE ${q}.items (id serial PRIMARY KEY, v text);
    INSERT INTO ${q}.items (v) SELECT 'v' || g FROM generate_series(1, 100) g;
  `,
  );
  await sql(
    s.target1,
    `
    CREATE SCHEMA ${q};
    CREATE TABLE ${q}.items (id serial PRIMARY KEY, v text);
    CREATE ROLE ${role} LOGIN PASSWORD '${role}-pw';
    GRANT USAGE ON SCHEMA ${q} TO ${role};
    GRANT INSERT ON ${q}.items TO ${role};
  `,
  );
});

afterAll(async () => {
  await sql(s.source, `DROP SCHEMA ${q} CASCADE`);
  await sql(s.target1, `DROP SCHEMA ${q} CASCADE; DROP ROLE ${role}`);
});

describe('a role that may insert but not touch the sequence', () => {
  it('keeps the copied rows and warns that the sequence was not advanced', async () => {
    const config = testConfig({ server: s.source, schema }, [
      {
        name: 'db_1',
        server: s.target1,
        schema,
        tables: ['items'],
        extra: { user: role, password: `${role}-pw` },
      },
    ]);
    const { report } = await run(config);
    const result = report?.tables[0];
    expect(result?.status).toBe('warnings');
    expect(result?.rows).toBe(100);
    expect(result?.warnings).toEqual([
      `sequence ${schema}.items_id_seq of column "id" not advanced past the copied values: permission denied for sequence items_id_seq`,
    ]);
    const { rows } = await sql(s.target1, `SELECT count(*)::int AS n FROM ${q}.items`);
    expect(rows[0]).toEqual({ n: 100 });
  });
});
