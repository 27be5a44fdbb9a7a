import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/copy/run.js';
import { validateConfig } from '../../src/config/validate.js';
import { STRATEGIES } from '../../src/config/types.js';
import type { RunReport, TableResult } from '../../src/report/events.js';
import type { ServerInfo } from '../support/server-info.js';
import { servers, sql, tableDigest, uniqueName } from '../support/db.js';
import { endpointOf, testConfig } from '../support/config.js';

const schema = uniqueName('Copy Fidelity');
const q = `"${schema}"`;
const s = servers();
const pg15 = s.pg15;

/** User-defined types: an enum (with a label that needs quoting), a domain and a range. */
const TYPES_SQL = `
  CREATE TYPE ${q}.mood AS ENUM ('sad', 'ok', 'happy', 'it''s "quoted"');
  CREATE DOMAIN ${q}.positive_int AS int CHECK (VALUE > 0);
  CREATE TYPE ${q}.floatrange AS RANGE (subtype = float8);
  CREATE TYPE ${q}.pair AS (label text, m ${q}.mood, ms ${q}.mood[]);
  CREATE DOMAIN ${q}.pair_d AS ${q}.pair;
`;

/** Every column type of the fidelity table; `id` is the only one changed in the text-format copy. */
const COLUMNS = `
  i2 int2, i4 int4, i8 int8, num numeric, num_scaled numeric(12,4), f4 float4, f8 float8,
  t text, vc varchar(30), ch char(5), b bytea, flag bool,
  d date, tm time, ttz timetz, ts timestamp, tstz timestamptz, iv interval,
  u uuid, j json, jb jsonb, ip inet, net cidr, mac macaddr,
  bits bit(8), vbits varbit, ints int[], grid int[][], texts text[], stamps timestamptz[],
  m ${q}.mood, pos ${q}.positive_int, fr ${q}.floatrange, ir int4range, tr tstzrange`;

const ROWS_SQL = `
INSERT INTO ${q}.fidelity VALUES
  (1, 32767, 2147483647, 9223372036854775807, 'NaN', 12345678.1234, 'NaN', 'NaN',
   E'tab\\there, newline\\nand CR\\r, backslash \\\\ \\\\N, quotes '' " \`', 'ünïcödé ✓', 'abc  ', '\\x00ff0a0d5c'::bytea, true,
   '2024-02-29', '23:59:59.999999', '12:00:00+05:30', '2000-01-01 00:00:00.000001', 'infinity', '1 year 2 mons 3 days 04:05:06.789',
   'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"b": 1,  "a": [1, 2, "x\\ty"], "dup": 1, "dup": 2}', '{"b": 1, "a": {"nested": [null, true]}}',
   '192.168.0.1/24', '10.0.0.0/8', '08:00:2b:01:02:03',
   B'10101010', B'1', ARRAY[1, NULL, 3], ARRAY[[1, 2], [NULL, 4]], ARRAY['a,b', NULL, '"q"', 'NULL', '', 'back\\slash'], ARRAY['infinity'::timestamptz, '2020-01-01 00:00+00'],
   'it''s "quoted"', 1, '[1.5,2.5)', '[1,10)', '[2020-01-01 00:00+00,infinity)'),
  (2, -32768, -2147483648, -9223372036854775808, 'Infinity', -0.0001, 'Infinity', '-0',
   '😀 emoji 🇳🇿 and 𝄞', '', ' ', ''::bytea, false,
   '-infinity', '00:00:00', '00:00:00-12:00', '-infinity', '-infinity', '-178000000 years',
   '00000000-0000-0000-0000-000000000000', 'null', '[]',
   '::1', '2001:db8::/32', 'ff:ff:ff:ff:ff:ff',
   B'00000000', B'', '{}', '{{{1}},{{2}}}', '{}', '{}',
   'sad', 2147483647, 'empty', '(,5]', 'empty'),
  (3, 0, 0, 0, '-Infinity', 0, '-Infinity', '-Infinity',
   'NULL', '\\N', NULL, NULL, NULL,
   '4713-01-01 BC', '24:00:00', '24:00:00+15:59', '294276-12-31 23:59:59.999999', '4714-11-24 00:00:00+00 BC', '-1 days +02:03:04',
   NULL, '"just a string"', '"\\u00e9x \\"q\\""', NULL, NULL, NULL,
   NULL, B'1111000011110000111', ARRAY[NULL]::int[], NULL, ARRAY[NULL]::text[], NULL,
   'happy', NULL, '(,)', NULL, NULL),
  (4, 1, 1, 1, '0.000000000000000000000000000001', 1, 1.17549435e-38, 2.2250738585072014e-308,
   repeat('long ✓ ', 20000), 'x', 'x', decode(repeat('00ff', 50000), 'hex'), true,
   '2024-01-01', '12:34:56', '12:34:56+00', '2024-01-01 12:34:56', '2024-06-01 12:34:56.123456+02', '-1 mons -2 days -00:00:01',
   gen_random_uuid(), '{}', '{}', '0.0.0.0', '0.0.0.0/0', '00:00:00:00:00:00',
   B'11111111', repeat('01', 500)::varbit, ARRAY[-1, 0, 1], ARRAY[[[1,2],[3,4]],[[5,6],[7,8]]], ARRAY['x'], ARRAY['-infinity'::timestamptz],
   'ok', 42, '[-1e300,1e300]', 'empty', '(2020-01-01 00:00+00,2020-01-02 00:00+00]'),
  (5, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
   NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
   NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
INSERT INTO ${q}.fidelity (id, f4, f8, t, num)
  SELECT 100 + g, (g / 7.0)::float4, 0.1 * g + 0.2, md5(g::text), g / 3.0 FROM generate_series(1, 2000) g;
`;

function byTable(report: RunReport | undefined, table: string): TableResult {
  const found = report?.tables.find((t) => t.table === table);
  if (!found) throw new Error(`no result for ${table}`);
  return found;
}

async function expectSameDigest(
  source: ServerInfo,
  sourceQuery: string,
  target: ServerInfo,
  targetQuery: string,
  rows: number,
): Promise<void> {
  const expected = await tableDigest(source, sourceQuery);
  expect(expected.count).toBe(rows);
  expect(await tableDigest(target, targetQuery)).toEqual(expected);
}

const sourceDb = uniqueName('fidelity_src');
const targetDb = uniqueName('fidelity_tgt');

beforeAll(async () => {
  await sql(
    s.source,
    `CREATE SCHEMA ${q}; ${TYPES_SQL}
     CREATE TABLE ${q}.fidelity (id int4 PRIMARY KEY, ${COLUMNS});
     ${ROWS_SQL}
     CREATE TABLE ${q}.user_arrays (id int PRIMARY KEY, moods ${q}.mood[], ranges ${q}.floatrange[], p ${q}.pair, pd ${q}.pair_d);
     INSERT INTO ${q}.user_arrays VALUES (1, ARRAY['sad', NULL, 'it''s "quoted"']::${q}.mood[], ARRAY['[1,2)', 'empty']::${q}.floatrange[], ('a "b"', 'ok', '{sad}'), ('x', 'sad', NULL)),
       (2, '{}', NULL, (NULL, NULL, NULL), NULL), (3, ARRAY[['ok'], ['happy']]::${q}.mood[], ARRAY[NULL]::${q}.floatrange[], NULL, ('', 'happy', '{ok,NULL}'));
     CREATE TABLE ${q}.composite_domain (id int PRIMARY KEY, pd ${q}.pair_d);
     INSERT INTO ${q}.composite_domain VALUES (1, ('x', 'sad', '{happy,sad}')), (2, NULL), (3, (NULL, 'it''s "quoted"', NULL));
     CREATE TABLE ${q}.casts (id int4, label varchar(20), amount numeric(10,2), stamp timestamp, tags varchar(10)[], doc json);
     INSERT INTO ${q}.casts VALUES (1, 'short', 1.25, '2024-01-01 10:00', ARRAY['a', NULL], '{"k":  1}'),
       (2147483647, 'twenty characters!!!', -99999999.99, 'infinity', '{}', '[1, 2]'),
       (-2147483648, '', NULL, NULL, NULL, NULL), (0, NULL, 0, '-infinity', ARRAY['x y', '"'], 'null');
     CREATE TABLE ${q}."Order Items" ("Id" int PRIMARY KEY, "select" text, "Mixed Case" int, "say ""hi""" text, "from" date);
     INSERT INTO ${q}."Order Items" SELECT g, 'v' || g, g * 2, 'q"' || g, DATE '2024-01-01' + g FROM generate_series(1, 300) g;
     CREATE TABLE ${q}."select" ("GROUP" int, "where" text);
     INSERT INTO ${q}."select" VALUES (1, 'a'), (2, NULL);`,
  );
  for (const target of [s.target1, s.target2]) {
    // The padding type shifts the OIDs of the user-defined types: they must not match the source's.
    await sql(
      target,
      `CREATE SCHEMA ${q}; CREATE TYPE ${q}.padding AS ENUM ('x'); ${TYPES_SQL}
       CREATE TABLE ${q}.fidelity (id int4 PRIMARY KEY, ${COLUMNS});
       CREATE TABLE ${q}.fidelity_text (id int8 PRIMARY KEY, ${COLUMNS});
       CREATE TABLE ${q}.user_arrays (id int PRIMARY KEY, moods ${q}.mood[], ranges ${q}.floatrange[], p ${q}.pair, pd ${q}.pair_d);
       CREATE TABLE ${q}.composite_domain (id int PRIMARY KEY, pd ${q}.pair_d);
       CREATE TABLE ${q}.casts (id int8, label text, amount numeric, stamp timestamptz, tags text[], doc jsonb);
       CREATE TABLE ${q}."Order Items" ("Id" int PRIMARY KEY, "select" text, "Mixed Case" int, "say ""hi""" text, "from" date, "Extra ""Col""" text DEFAULT 'd');
       CREATE TABLE ${q}."select" ("GROUP" int, "where" text);`,
    );
  }
  // Databases whose default session settings change the text form of values.
  await sql(s.source, `CREATE DATABASE "${sourceDb}"`);
  await sql(
    s.source,
    `ALTER DATABASE "${sourceDb}" SET DateStyle = 'SQL, DMY';
     ALTER DATABASE "${sourceDb}" SET IntervalStyle = 'sql_standard';
     ALTER DATABASE "${sourceDb}" SET extra_float_digits = 0;
     ALTER DATABASE "${sourceDb}" SET bytea_output = 'escape';
     ALTER DATABASE "${sourceDb}" SET TimeZone = 'Pacific/Chatham';`,
  );
  await sql(s.target1, `CREATE DATABASE "${targetDb}"`);
  await sql(
    s.target1,
    `ALTER DATABASE "${targetDb}" SET DateStyle = 'SQL, MDY';
     ALTER DATABASE "${targetDb}" SET IntervalStyle = 'postgres';
     ALTER DATABASE "${targetDb}" SET TimeZone = 'America/St_Johns';`,
  );
  if (pg15) {
    await sql(
      pg15,
      `CREATE SCHEMA ${q}; ${TYPES_SQL}
       CREATE TABLE ${q}.fidelity (id int4 PRIMARY KEY, ${COLUMNS});
       ${ROWS_SQL}`,
    );
  }
});

afterAll(async () => {
  for (const server of [s.source, s.target1, s.target2, ...(pg15 ? [pg15] : [])])
    await sql(server, `DROP SCHEMA IF EXISTS ${q} CASCADE`);
  await sql(s.source, `DROP DATABASE IF EXISTS "${sourceDb}" WITH (FORCE)`);
  await sql(s.target1, `DROP DATABASE IF EXISTS "${targetDb}" WITH (FORCE)`);
});

const fidelityRows = 5 + 2000;
/** The column names of COLUMNS (a definition starts each line or follows ', ' before a type). */
const restColumns = [...COLUMNS.matchAll(/(?:^|,)\s*([a-z0-9_]+) /g)]
  .map((m) => m[1] ?? '')
  .join(', ');

/**
 * Every strategy copies the same tables; truncate mode lets each strategy's run start from the
 * same empty target. The server-side strategies move rows as text.
 */
describe.each(STRATEGIES)('data fidelity, strategy %s', (strategy) => {
  const options = { strategy, createExtensions: true, mode: 'truncate' };
  const format = (streamFormat: 'binary' | 'text'): string =>
    strategy === 'stream' ? streamFormat : 'text';

  it('copies every type exactly, in binary (identical types) and in text (one differing column)', async () => {
    const config = testConfig(
      { server: s.source, schema },
      [
        {
          name: 'one',
          server: s.target1,
          schema,
          tables: [
            'fidelity',
            { name: 'fidelity', target: 'fidelity_text' },
            'user_arrays',
            'composite_domain',
          ],
        },
      ],
      options,
    );
    const { report } = await run(config);
    expect(report?.tables.map((t) => [t.table, t.status, t.format, t.rows, t.error])).toEqual([
      ['fidelity', 'done', format('binary'), fidelityRows, null],
      ['fidelity_text', 'warnings', 'text', fidelityRows, null],
      ['user_arrays', 'done', 'text', 3, null],
      // A domain over a composite is binary-safe: PostgreSQL does not check user-defined OIDs
      // embedded in a composite's (or array's) binary form; the padding type makes them differ.
      ['composite_domain', 'done', format('binary'), 3, null],
    ]);
    expect(report?.tables.map((t) => t.strategy)).toEqual(Array(4).fill(strategy));
    expect(byTable(report, 'fidelity_text').warnings).toEqual([
      'column "id": integer -> bigint converted through text',
    ]);
    await expectSameDigest(
      s.source,
      `SELECT * FROM ${q}.fidelity`,
      s.target1,
      `SELECT * FROM ${q}.fidelity`,
      fidelityRows,
    );
    await expectSameDigest(
      s.source,
      `SELECT id::int8, ${restColumns} FROM ${q}.fidelity`,
      s.target1,
      `SELECT * FROM ${q}.fidelity_text`,
      fidelityRows,
    );
    await expectSameDigest(
      s.source,
      `SELECT * FROM ${q}.user_arrays`,
      s.target1,
      `SELECT * FROM ${q}.user_arrays`,
      3,
    );
    await expectSameDigest(
      s.source,
      `SELECT * FROM ${q}.composite_domain`,
      s.target1,
      `SELECT * FROM ${q}.composite_domain`,
      3,
    );
    // The digest is over the text form; check a few values it could blur, one by one.
    const probe = `SELECT id::int AS id, f8::text = '-0' AS neg_zero, num = 'NaN' AS nan, f4 = 'Infinity' AS inf,
      vc IS NULL AS vc_null, vc = '' AS vc_empty, octet_length(b) AS b_len, tstz = '-infinity' AS minus_inf
      FROM ${q}.%s ORDER BY id LIMIT 5`;
    const expected = await sql(s.source, probe.replace('%s', 'fidelity'));
    for (const table of ['fidelity', 'fidelity_text'])
      expect((await sql(s.target1, probe.replace('%s', table))).rows).toEqual(expected.rows);
  });

  it('converts differing column types through text (int4 -> int8, varchar(20) -> text, ...)', async () => {
    const config = testConfig(
      { server: s.source, schema },
      [{ name: 'two', server: s.target2, schema, tables: ['casts'] }],
      options,
    );
    const { report } = await run(config);
    const result = byTable(report, 'casts');
    expect([result.status, result.format, result.rows]).toEqual(['warnings', 'text', 4]);
    expect(result.warnings).toEqual([
      'column "id": integer -> bigint converted through text',
      'column "label": character varying(20) -> text converted through text',
      'column "amount": numeric(10,2) -> numeric converted through text',
      'column "stamp": timestamp without time zone -> timestamp with time zone converted through text',
      'column "tags": character varying(10)[] -> text[] converted through text',
      'column "doc": json -> jsonb converted through text',
    ]);
    await expectSameDigest(
      s.source,
      `SELECT id::int8, label::text, amount::numeric, stamp::timestamptz, tags::text[], doc::jsonb FROM ${q}.casts`,
      s.target2,
      `SELECT * FROM ${q}.casts`,
      4,
    );
  });

  it('quotes identifiers: spaces, mixed case, reserved words, a double quote in a column name', async () => {
    const config = testConfig(
      { server: s.source, schema },
      [{ name: 'two', server: s.target2, schema, tables: ['Order Items', 'select'] }],
      options,
    );
    const { report } = await run(config, { concurrency: 2 });
    expect(report?.tables.map((t) => [t.table, t.status, t.rows, t.columns])).toEqual([
      ['Order Items', 'warnings', 300, ['Id', 'select', 'Mixed Case', 'say "hi"', 'from']],
      ['select', 'done', 2, ['GROUP', 'where']],
    ]);
    await expectSameDigest(
      s.source,
      `SELECT * FROM ${q}."Order Items"`,
      s.target2,
      `SELECT "Id", "select", "Mixed Case", "say ""hi""", "from" FROM ${q}."Order Items"`,
      300,
    );
    await expectSameDigest(
      s.source,
      `SELECT * FROM ${q}."select"`,
      s.target2,
      `SELECT * FROM ${q}."select"`,
      2,
    );
  });

  it('copies exactly in text format whatever the sessions default DateStyle, IntervalStyle, float digits and time zone are', async () => {
    const setup = `DROP SCHEMA IF EXISTS ${q} CASCADE; CREATE SCHEMA ${q}; ${TYPES_SQL}`;
    const table = `CREATE TABLE ${q}.styled (id int4 PRIMARY KEY, d date, ts timestamp, tstz timestamptz,
      iv interval, f4 float4, f8 float8, b bytea, m ${q}.mood, dates date[])`;
    const targetTable = table.replace('id int4', 'id int8');
    const src = { ...s.source };
    const srcDb = { server: s.source, database: sourceDb };
    const tgtDb = { server: s.target1, database: targetDb };
    await sqlIn(
      srcDb,
      `${setup} ${table};
      INSERT INTO ${q}.styled VALUES
        (1, '2024-03-05', '2024-03-05 01:02:03.456', '2024-03-05 01:02:03.456+00', '-1 day +02:03:04',
         0.1, 0.1::float8 + 0.2::float8, '\\x00ff5c'::bytea, 'ok', ARRAY['2024-03-05'::date, '2024-12-31']),
        (2, '0044-01-02 BC', '1900-12-31 23:59:59', '1850-01-01 00:00:00+00', '-1 year -2 mons +3 days -04:05:06.5',
         3.4028235e38, 1.7976931348623157e308, NULL, NULL, NULL)`,
    );
    await sqlIn(tgtDb, `${setup} ${targetTable}`);
    const config = validateConfig({
      source: { ...endpointOf(src, schema), database: sourceDb },
      targets: [
        {
          name: 'styled',
          ...endpointOf(s.target1, schema),
          database: targetDb,
          tables: ['styled'],
        },
      ],
      options,
    });
    const { report } = await run(config);
    expect(report?.tables.map((t) => [t.status, t.format, t.rows, t.error])).toEqual([
      ['warnings', 'text', 2, null],
    ]);
    const digest = `SET DateStyle = ISO; SET IntervalStyle = postgres; SET bytea_output = hex; SET extra_float_digits = 3; SET TimeZone = UTC;
      SELECT count(*)::int AS count, md5(string_agg(r::text, E'\\n' ORDER BY r.id)) AS md5
      FROM (SELECT id::int8, d, ts, tstz, iv, f4, f8, b, m, dates FROM ${q}.styled) r`;
    const expected = await sqlIn(srcDb, digest);
    const actual = await sqlIn(tgtDb, digest);
    expect(actual).toEqual(expected);
  });

  it.skipIf(!pg15)(
    'copies a PostgreSQL 15 source into a PostgreSQL 17 target, binary and text',
    async () => {
      const old = pg15 as ServerInfo;
      const config = testConfig(
        { server: old, schema },
        [
          {
            name: 'two',
            server: s.target2,
            schema,
            tables: ['fidelity', { name: 'fidelity', target: 'fidelity_text' }],
          },
        ],
        options,
      );
      const { report } = await run(config);
      expect(report?.tables.map((t) => [t.table, t.status, t.format, t.rows])).toEqual([
        ['fidelity', 'done', format('binary'), fidelityRows],
        ['fidelity_text', 'warnings', 'text', fidelityRows],
      ]);
      await expectSameDigest(
        old,
        `SELECT * FROM ${q}.fidelity`,
        s.target2,
        `SELECT * FROM ${q}.fidelity`,
        fidelityRows,
      );
      await expectSameDigest(
        old,
        `SELECT id::int8, ${restColumns} FROM ${q}.fidelity`,
        s.target2,
        `SELECT * FROM ${q}.fidelity_text`,
        fidelityRows,
      );
    },
  );
});

/** Runs SQL in another database of a server; returns the last statement's rows. */
async function sqlIn(
  where: { server: ServerInfo; database: string },
  text: string,
): Promise<unknown> {
  const client = new pg.Client({
    host: where.server.host,
    port: where.server.port,
    user: where.server.user,
    password: where.server.password,
    database: where.database,
  });
  await client.connect();
  try {
    const result = (await client.query(text)) as pg.QueryResult | pg.QueryResult[];
    return Array.isArray(result) ? result.at(-1)?.rows : result.rows;
  } finally {
    await client.end();
  }
}
