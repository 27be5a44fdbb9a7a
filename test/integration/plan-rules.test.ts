import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Connectors } from '../../src/db/connectors.js';
import { makePlan } from '../../src/plan/make-plan.js';
import type { Plan, TablePlan } from '../../src/plan/types.js';
import { resolveEndpoints } from '../../src/secrets/resolve-endpoints.js';
import { servers, sql, uniqueName } from '../support/db.js';
import { testConfig } from '../support/config.js';

const schema = uniqueName('Plan Rules');
const s = servers();
let plan: Plan;

function table(name: string): TablePlan {
  const found = plan.targets[0]?.tables.find((t) => t.targetTable === name);
  if (!found) throw new Error(`no plan for ${name}`);
  return found;
}

beforeAll(async () => {
  const q = `"${schema}"`;
  await sql(
    s.source,
    `
    CREATE SCHEMA ${q};
    CREATE TABLE ${q}.same (id int PRIMARY KEY, name text, note text);
    CREATE TABLE ${q}.only_source (id int);
    CREATE TABLE ${q}."Order Items" ("Id" int, "select" text, "Mixed Case" int);
    CREATE TABLE ${q}.casts (id int4, label varchar(20), flag bool);
    CREATE TABLE ${q}.bad_cast (id int, flag bool);
    CREATE TABLE ${q}.no_shared (a int);
    CREATE TABLE ${q}.needs_value (id int);
    CREATE TABLE ${q}.gen (id int, total int);
    CREATE TABLE ${q}.ident (id int, v text);
    CREATE TABLE ${q}.upsert_nokey (id int, v text);
    CREATE TABLE ${q}.upsert_ok (id int, v text);
    CREATE TABLE ${q}.referenced (id int PRIMARY KEY);
  `,
  );
  await sql(
    s.target1,
    `
    CREATE SCHEMA ${q};
    CREATE TABLE ${q}.same (id int PRIMARY KEY, name text, extra text DEFAULT 'x');
    CREATE TABLE ${q}.only_target (id int);
    CREATE TABLE ${q}."Order Items" ("Id" int, "select" text, "mixed case" int);
    CREATE TABLE ${q}.casts (id int8, label text, flag bool);
    CREATE TABLE ${q}.bad_cast (id int, flag int);
    CREATE TABLE ${q}.no_shared (b int);
    CREATE TABLE ${q}.needs_value (id int, required text NOT NULL);
    CREATE TABLE ${q}.gen (id int, total int GENERATED ALWAYS AS (id * 2) STORED);
    CREATE TABLE ${q}.ident (id int GENERATED ALWAYS AS IDENTITY, v text);
    CREATE TABLE ${q}.upsert_nokey (id int, v text);
    CREATE TABLE ${q}.upsert_ok (id int NOT NULL, v text, UNIQUE (id));
    CREATE TABLE ${q}.referenced (id int PRIMARY KEY);
    CREATE TABLE ${q}.referrer (id int REFERENCES ${q}.referenced);
  `,
  );
  const config = testConfig({ server: s.source, schema }, [
    {
      name: 'db_1',
      server: s.target1,
      schema,
      tables: [
        'same',
        'only_source',
        'only_target',
        'Order Items',
        'casts',
        'bad_cast',
        'no_shared',
        'needs_value',
        'gen',
        'ident',
        { name: 'upsert_nokey', mode: 'upsert' },
        { name: 'upsert_ok', mode: 'upsert' },
        { name: 'referenced', mode: 'truncate' },
      ],
    },
  ]);
  const connectors = new Connectors(await resolveEndpoints(config));
  try {
    plan = await makePlan(config, connectors);
  } finally {
    await connectors.close();
  }
});

afterAll(async () => {
  await sql(s.source, `DROP SCHEMA "${schema}" CASCADE`);
  await sql(s.target1, `DROP SCHEMA "${schema}" CASCADE`);
});

describe('plan rules against real servers', () => {
  it('copies the shared columns, skips source-only and leaves target-only to defaults', () => {
    const t = table('same');
    expect(t.columns).toEqual(['id', 'name']);
    expect(t.skipped).toEqual({ sourceOnly: ['note'], targetOnly: ['extra'] });
    expect(t.format).toBe('binary');
    expect(t.errors).toEqual([]);
    expect(t.warnings).toEqual([
      'source-only columns skipped: "note"',
      'target-only columns left to their defaults: "extra"',
    ]);
  });

  it('reports a table missing on either side', () => {
    expect(table('only_source').errors).toEqual([
      `target table "${schema}"."only_source" does not exist`,
    ]);
    expect(table('only_target').errors).toEqual([
      `source table "${schema}"."only_target" does not exist`,
    ]);
  });

  it('says when a whole schema is missing', async () => {
    const config = testConfig({ server: s.source, schema: 'no such schema' }, [
      { name: 'db_1', server: s.target1, schema: 'nor this', tables: ['same'] },
    ]);
    const connectors = new Connectors(await resolveEndpoints(config));
    try {
      const missing = await makePlan(config, connectors);
      expect(missing.targets[0]?.tables[0]?.errors).toEqual([
        'source schema "no such schema" does not exist',
        'target schema "nor this" does not exist',
      ]);
    } finally {
      await connectors.close();
    }
  });

  it('matches quoted, mixed-case and reserved-word identifiers exactly', () => {
    const t = table('Order Items');
    expect(t.columns).toEqual(['Id', 'select']);
    expect(t.skipped).toEqual({ sourceOnly: ['Mixed Case'], targetOnly: ['mixed case'] });
  });

  it('classifies type pairs: same, through text, incompatible', () => {
    const t = table('casts');
    expect(t.pairs.map((p) => [p.name, p.conversion])).toEqual([
      ['id', 'text'],
      ['label', 'text'],
      ['flag', 'same'],
    ]);
    expect(t.casts).toEqual([
      { column: 'id', from: 'integer', to: 'bigint' },
      { column: 'label', from: 'character varying(20)', to: 'text' },
    ]);
    expect(t.format).toBe('text');
    expect(table('bad_cast').errors).toEqual([
      'column "flag": boolean cannot be converted to integer',
    ]);
  });

  it('refuses truncate mode on a table another table references by foreign key', () => {
    expect(table('referenced').errors).toEqual([
      `truncate: "${schema}"."referrer" references this table by foreign key and is not among this target's tables, so PostgreSQL refuses to TRUNCATE this table (add it in truncate mode to replace both together, or use append or upsert)`,
    ]);
  });

  it('refuses a table with no shared column', () => {
    expect(table('no_shared').errors).toEqual(['no shared column']);
  });

  it('refuses a target NOT NULL column without default that the source lacks', () => {
    expect(table('needs_value').errors).toEqual([
      'target column "required" is NOT NULL without a default and the source lacks it',
    ]);
  });

  it('never writes generated columns', () => {
    const t = table('gen');
    expect(t.columns).toEqual(['id']);
    expect(t.generated).toEqual(['total']);
    expect(t.warnings).toContain('generated target columns not written: "total"');
  });

  it('writes identity GENERATED ALWAYS columns with OVERRIDING SYSTEM VALUE', () => {
    const t = table('ident');
    expect(t.columns).toEqual(['id', 'v']);
    expect(t.overridingSystemValue).toBe(true);
  });

  it('needs a key over shared columns for upsert', () => {
    expect(table('upsert_nokey').errors).toEqual([
      'upsert needs a primary key or unique key on the target whose columns are all copied',
    ]);
    expect(table('upsert_ok').conflictKey).toEqual(['id']);
    expect(table('upsert_ok').errors).toEqual([]);
  });
});
