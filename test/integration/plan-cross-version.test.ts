import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { plan } from '../../src/index.js';
import { servers, sql, uniqueName } from '../support/db.js';
import { testConfig } from '../support/config.js';

const s = servers();
const pg15 = s.pg15;
const schema = uniqueName('Cross Version');
const q = `"${schema}"`;

describe.skipIf(!pg15)('a PostgreSQL 15 source planned against a 17 target', () => {
  beforeAll(async () => {
    if (!pg15) return;
    await sql(
      pg15,
      `
      CREATE SCHEMA ${q};
      CREATE TYPE ${q}.mood AS ENUM ('ok', 'meh');
      CREATE TABLE ${q}."Events" (id int PRIMARY KEY, "When" timestamptz, mood ${q}.mood, tags text[], payload jsonb, old_only int);
    `,
    );
    await sql(
      s.target1,
      `
      CREATE SCHEMA ${q};
      CREATE TYPE ${q}.mood AS ENUM ('ok', 'meh');
      CREATE TABLE ${q}."Events" (id bigint PRIMARY KEY, "When" timestamptz, mood ${q}.mood, tags text[], payload jsonb);
    `,
    );
  });

  afterAll(async () => {
    if (!pg15) return;
    await sql(pg15, `DROP SCHEMA ${q} CASCADE`);
    await sql(s.target1, `DROP SCHEMA ${q} CASCADE`);
  });

  it('reads the 15 catalog, matches user types by name across servers and picks the format', async () => {
    if (!pg15) return;
    const config = testConfig({ server: pg15, schema }, [
      { name: 'new', server: s.target1, schema, tables: ['Events'] },
    ]);
    const result = await plan(config);
    const table = result.targets[0]?.tables[0];
    expect(table?.errors).toEqual([]);
    expect(table?.columns).toEqual(['id', 'When', 'mood', 'tags', 'payload']);
    expect(table?.pairs.map((p) => [p.name, p.conversion])).toEqual([
      ['id', 'text'],
      ['When', 'same'],
      ['mood', 'same'],
      ['tags', 'same'],
      ['payload', 'same'],
    ]);
    expect(table?.skipped.sourceOnly).toEqual(['old_only']);
    expect(table?.format).toBe('text');
  });
});
