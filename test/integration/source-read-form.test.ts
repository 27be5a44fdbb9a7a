import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/copy/run.js';
import { testConfig } from '../support/config.js';
import { servers, sql, tableDigest, uniqueName } from '../support/db.js';

// A plain table's read names the table in COPY TO (no query to plan, no row to project); every
// other read goes through a query. Either way each target gets exactly the rows and columns its
// own mapping names, alone or in a read shared with a target mapped differently.
const schema = uniqueName('Read Form');
const q = `"${schema}"`;
const s = servers();

const SOURCE = `CREATE SCHEMA ${q};
  CREATE TABLE ${q}.plain (id int PRIMARY KEY, a text, b int, c text);
  INSERT INTO ${q}.plain SELECT g, 'a' || g, g * 3, 'c' || g FROM generate_series(1, 200) g;
  CREATE TABLE ${q}.plain_child (extra text) INHERITS (${q}.plain);
  INSERT INTO ${q}.plain_child SELECT g, 'child', 0, 'child', 'x' FROM generate_series(1001, 1050) g;
  CREATE TABLE ${q}.gen (id int, qty int, total int GENERATED ALWAYS AS (qty * 10) STORED);
  INSERT INTO ${q}.gen (id, qty) SELECT g, g FROM generate_series(1, 100) g;
  CREATE TABLE ${q}.parted (id int, v text) PARTITION BY RANGE (id);
  CREATE TABLE ${q}.parted_low PARTITION OF ${q}.parted FOR VALUES FROM (0) TO (100);
  CREATE TABLE ${q}.parted_high PARTITION OF ${q}.parted FOR VALUES FROM (100) TO (1000);
  INSERT INTO ${q}.parted SELECT g, 'v' || g FROM generate_series(1, 300) g;
  CREATE VIEW ${q}.recent AS SELECT id, a FROM ${q}.plain WHERE id > 150;`;

/** The target tables: `plain` with its columns in another order, `gen` with a plain `total`. */
const TARGET = `CREATE SCHEMA ${q};
  CREATE TABLE ${q}.plain (c text, id int PRIMARY KEY, bee int, a text);
  CREATE TABLE ${q}.gen (id int, qty int, total int);
  CREATE TABLE ${q}.parted (id int, v text);
  CREATE TABLE ${q}.recent (id int, a text);`;

beforeAll(async () => {
  await sql(s.source, SOURCE);
  await sql(s.target1, TARGET);
  await sql(s.target2, TARGET);
});

afterAll(async () => {
  for (const server of [s.source, s.target1, s.target2]) {
    await sql(server, `DROP SCHEMA ${q} CASCADE`);
  }
});

const TABLES = [
  { name: 'plain', columns: { rename: { b: 'bee' } } },
  'gen',
  'parted',
  'recent',
] as const;

/** The source's rows as each target table holds them, in the target's column names. */
const EXPECTED: Record<string, string> = {
  plain: `SELECT id, a, b AS bee, c FROM ONLY ${q}.plain`,
  gen: `SELECT id, qty, total FROM ${q}.gen`,
  parted: `SELECT id, v FROM ${q}.parted`,
  recent: `SELECT id, a FROM ${q}.recent`,
};
const HELD: Record<string, string> = {
  plain: `SELECT id, a, bee, c FROM ${q}.plain`,
  gen: `SELECT id, qty, total FROM ${q}.gen`,
  parted: `SELECT id, v FROM ${q}.parted`,
  recent: `SELECT id, a FROM ${q}.recent`,
};

async function copyTracing(
  targets: Parameters<typeof testConfig>[1],
): Promise<{ statements: string[]; statuses: string[] }> {
  const statements: string[] = [];
  const { report } = await run(
    testConfig({ server: s.source, schema }, targets, { mode: 'truncate' }),
    {
      concurrency: 2,
      deps: { trace: { query: (endpoint, text) => statements.push(`${endpoint}: ${text}`) } },
    },
  );
  // The inheritance child, left out, is the one warning: its rows are not the parent's.
  const statuses =
    report?.tables.map((t) =>
      t.warnings.every((w) => w.startsWith('inheritance children')) && t.error === null
        ? `${t.table} copied`
        : `${t.table} ${t.status}`,
    ) ?? [];
  return { statements, statuses };
}

/** The source's COPY statements (after the snapshot's join in the same query string, if there). */
const reads = (statements: readonly string[]): string[] =>
  statements
    .filter((t) => t.startsWith('source: ') && / TO STDOUT /.test(t))
    .map((t) => t.slice(t.indexOf('COPY ')))
    .sort();

describe('the source read: a plain table named in COPY TO, any other read through a query', () => {
  it('one target: the table form for the plain table (renamed, reordered), a query for a generated column, a partitioned table and a view', async () => {
    const { statements, statuses } = await copyTracing([
      { name: 'db_1', server: s.target1, schema, tables: TABLES },
    ]);
    expect(statuses.sort()).toEqual([
      'gen copied',
      'parted copied',
      'plain copied',
      'recent copied',
    ]);
    const read = reads(statements);
    expect(read).toHaveLength(4);
    expect(read.filter((t) => t.startsWith('COPY ('))).toHaveLength(3);
    expect(read).toContainEqual(
      expect.stringMatching(/^COPY "[^"]+"\."plain" \("id", "a", "b", "c"\) TO STDOUT/),
    );
    expect(read).toContainEqual(
      expect.stringMatching(/^COPY \(SELECT "id", "qty", "total" FROM ONLY /),
    );
    for (const table of Object.keys(EXPECTED)) {
      expect(await tableDigest(s.target1, HELD[table] as string), table).toEqual(
        await tableDigest(s.source, EXPECTED[table] as string),
      );
    }
    // Only the parent's own rows: an inheritance child is a table of its own.
    expect((await sql(s.target1, `SELECT count(*)::int AS n FROM ${q}.plain`)).rows).toEqual([
      { n: 200 },
    ]);
  });

  it('a read shared by two targets, one renaming a column, the other leaving it out: each gets its own mapping', async () => {
    await sql(s.target2, `ALTER TABLE ${q}.plain DROP COLUMN bee`);
    try {
      const { statements, statuses } = await copyTracing([
        { name: 'db_1', server: s.target1, schema, tables: TABLES },
        {
          name: 'db_2',
          server: s.target2,
          schema,
          tables: [{ name: 'plain', columns: { exclude: ['b'] } }, 'gen'],
        },
      ]);
      expect(statuses.every((t) => t.endsWith(' copied'))).toBe(true);
      expect(statuses).toHaveLength(6);
      // Each shared table is read once, whatever the form.
      expect(reads(statements)).toHaveLength(4);
      for (const table of Object.keys(EXPECTED)) {
        expect(await tableDigest(s.target1, HELD[table] as string), table).toEqual(
          await tableDigest(s.source, EXPECTED[table] as string),
        );
      }
      expect(await tableDigest(s.target2, `SELECT id, a, c FROM ${q}.plain`)).toEqual(
        await tableDigest(s.source, `SELECT id, a, c FROM ONLY ${q}.plain`),
      );
      expect(await tableDigest(s.target2, HELD.gen as string)).toEqual(
        await tableDigest(s.source, EXPECTED.gen as string),
      );
    } finally {
      await sql(s.target2, `ALTER TABLE ${q}.plain ADD COLUMN bee int`);
    }
  });
});
