import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/copy/run.js';
import type { Strategy } from '../../src/config/types.js';
import type { VerifyReport } from '../../src/verify/verify-tables.js';
import { cli, workDir } from '../support/cli.js';
import { endpointOf } from '../support/config.js';
import { validateConfig } from '../../src/config/validate.js';
import { servers, sql, sqlIn, uniqueName } from '../support/db.js';
import type { ServerInfo } from '../support/server-info.js';

/**
 * Bug: verify cast the source value with SQL CAST to the target type, while the copy goes through
 * the source's text output and the target's input function in the target session's settings:
 * float4 -> float8 (0.1 against 0.10000000149011612), float8 -> numeric, char(n) -> varchar
 * (trailing spaces), bool and inet -> text (CAST prints true and /32), timestamp and date ->
 * timestamptz in a target whose TimeZone is not UTC. Correct copies failed `pgcopy verify` and
 * were rolled back by `run --verify`. Both servers here run under roles whose own settings differ
 * from the copy's: another TimeZone on each side, DateStyle SQL/DMY, extra_float_digits 0.
 */
const schema = uniqueName('Verify Conversions');
const q = `"${schema}"`;
const s = servers();
const role = (side: string): string => `${schema}_${side}`.toLowerCase().replaceAll(' ', '_');
const PASSWORD = 'verify-zones';

const COLUMNS = `f4 float4, f8 float8, ch char(5), ts timestamp, d date, tz timestamptz, b bool,
  ip inet, n numeric(10,2), j json, t time, st text`;
const TARGET_COLUMNS = `f4 float8, f8 numeric, ch varchar(10), ts timestamptz, d timestamptz,
  tz timestamp, b text, ip text, n numeric(12,4), j jsonb, t text, st timestamptz`;
const ROWS = `(1, 0.1, 0.1, 'ab', '2024-03-10 02:30:00', '2024-01-01', '2024-06-01 12:00:00+00',
    true, '10.0.0.1', 1.5, '{"a":  1}', '12:00', '2024-01-01 00:00:00'),
  (2, 1.1, 1e20, 'abcde', '1999-12-31 23:59:59.5', 'infinity', '2024-01-01 00:00:00+00',
    false, '10.1.0.0/16', -2.25, '[1, 2]', '00:00:01.25', '2024-01-01 00:00:00+02'),
  (3, 3.4028235e38, 0.30000000000000004, ' ', '0044-03-15 12:00:00 BC', '0001-01-01 BC',
    '-infinity', NULL, '::1', 0, 'null', NULL, 'infinity'),
  (4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`;

/** The other conversions the plan allows, narrowing ones included. */
const MORE_COLUMNS = `i int, i2 int, nn numeric, tx text, it int, dt date, tsd timestamp,
  tzd timestamptz, tzt timestamptz, iv interval, u uuid, jb jsonb, vc varchar, arr int[],
  f8 float8, by bytea, mo money, tzs timestamptz`;
const MORE_TARGET_COLUMNS = `i bigint, i2 numeric(8,2), nn float8, tx int, it text, dt timestamp,
  tsd date, tzd date, tzt text, iv text, u text, jb json, vc char(6), arr bigint[], f8 float4,
  by text, mo text, tzs timestamp(0)`;
const MORE_ROWS = `(1, 7, 3, 1.50, ' 42', -5, '2024-02-29', '2024-01-01 23:30:00',
    '2024-01-01 01:00:00+00', '2024-07-01 12:00:00.5+00', '1 day -02:00:00', 
    'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"b": [1, 2],  "a": null}', 'ab', '{1,NULL,3}',
    0.1, '\\x00ff', 12.5, '2024-01-01 00:00:00.6+00'),
  (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    NULL, NULL, NULL)`;

/** Zone-dependent inputs in a table whose source texts carry no zone of their own. */
const READ_COLUMNS = `s text, t time, r tsrange, a timestamp[], o text, tzt timestamptz`;
const READ_TARGET_COLUMNS = `s timestamptz, t timetz, r tstzrange, a timestamptz[], o timestamptz,
  tzt text`;
const READ_ROWS = `(1, '2024-01-01 00:00:00', '12:00', '[2024-01-01,2024-02-01 10:00)',
    '{"2024-01-01 00:00:00",NULL}', '2024-01-01 00:00:00+02', '2024-07-01 12:00:00.25+00'),
  (2, NULL, NULL, NULL, NULL, NULL, NULL),
  (3, NULL, NULL, NULL, NULL, NULL, '1850-01-01 12:00:00+00'),
  (4, NULL, NULL, NULL, NULL, NULL, '0044-03-15 12:00:00+00 BC'),
  (5, NULL, NULL, NULL, NULL, NULL, '-infinity'),
  (6, NULL, NULL, NULL, NULL, NULL, '2024-01-01 00:00:00+00')`;

/** Source and target roles with settings of their own, as a database or role may set them. */
async function zonedRole(server: ServerInfo, name: string, zone: string): Promise<void> {
  await sql(
    server,
    `CREATE ROLE "${name}" LOGIN SUPERUSER PASSWORD '${PASSWORD}';
     ALTER ROLE "${name}" SET TimeZone = '${zone}';
     ALTER ROLE "${name}" SET DateStyle = 'SQL, DMY';
     ALTER ROLE "${name}" SET extra_float_digits = 0;`,
  );
}

const STRATEGIES: Strategy[] = ['stream', 'dblink', 'fdw'];
const targetSchema = (strategy: Strategy): string => `${schema}_${strategy}`;

beforeAll(async () => {
  await zonedRole(s.source, role('src'), 'America/St_Johns');
  await zonedRole(s.target1, role('dst'), 'Asia/Kathmandu');
  await zonedRole(s.target2, role('dst'), 'Pacific/Chatham');
  await sql(
    s.source,
    `CREATE SCHEMA ${q};
     CREATE TABLE ${q}.conv (id int PRIMARY KEY, ${COLUMNS});
     INSERT INTO ${q}.conv VALUES ${ROWS};
     CREATE TABLE ${q}.same (id int PRIMARY KEY, ${COLUMNS});
     INSERT INTO ${q}.same VALUES ${ROWS};
     CREATE TABLE ${q}.more (id int PRIMARY KEY, ${MORE_COLUMNS});
     INSERT INTO ${q}.more VALUES ${MORE_ROWS};
     CREATE TABLE ${q}.zoned (id int PRIMARY KEY, ${READ_COLUMNS});
     INSERT INTO ${q}.zoned VALUES ${READ_ROWS};
     CREATE TABLE ${q}.tampered (id int PRIMARY KEY, ${COLUMNS});
     INSERT INTO ${q}.tampered VALUES ${ROWS};`,
  );
  for (const [server, strategy] of [
    ...STRATEGIES.map((x) => [s.target1, x] as const),
    [s.target2, 'stream'] as const,
  ]) {
    const tq = `"${targetSchema(strategy)}"`;
    await sql(
      server,
      `CREATE SCHEMA ${tq};
       CREATE TABLE ${tq}.conv (id int PRIMARY KEY, ${TARGET_COLUMNS});
       CREATE TABLE ${tq}.same (id int PRIMARY KEY, ${COLUMNS});
       CREATE TABLE ${tq}.more (id int PRIMARY KEY, ${MORE_TARGET_COLUMNS});
       CREATE TABLE ${tq}.zoned (id int PRIMARY KEY, ${READ_TARGET_COLUMNS});
       CREATE TABLE ${tq}.tampered (id int PRIMARY KEY, ${TARGET_COLUMNS});
       CREATE FUNCTION ${tq}.nudge() RETURNS trigger LANGUAGE plpgsql AS
         $$BEGIN IF NEW.id = 1 THEN NEW.f4 = 0.10000000149011612; END IF; RETURN NEW; END$$;
       CREATE TRIGGER nudge BEFORE INSERT ON ${tq}.tampered FOR EACH ROW EXECUTE FUNCTION ${tq}.nudge();`,
    );
  }
});

/** Drops a role of the test; what it created (the extensions a strategy needed) goes to the suite's. */
async function dropRole(server: ServerInfo, name: string): Promise<void> {
  await sql(
    server,
    `REASSIGN OWNED BY "${name}" TO "${server.user}"; DROP OWNED BY "${name}"; DROP ROLE "${name}"`,
  );
}

afterAll(async () => {
  await sql(s.source, `DROP SCHEMA ${q} CASCADE`);
  for (const strategy of STRATEGIES) {
    await sql(s.target1, `DROP SCHEMA "${targetSchema(strategy)}" CASCADE`);
  }
  await sql(s.target2, `DROP SCHEMA "${targetSchema('stream')}" CASCADE`);
  await dropRole(s.source, role('src'));
  await dropRole(s.target1, role('dst'));
  await dropRole(s.target2, role('dst'));
});

function rawConfig(strategy: Strategy, tables: readonly string[]): Record<string, unknown> {
  return {
    source: { ...endpointOf(s.source, schema), user: role('src'), password: PASSWORD },
    targets: [
      {
        name: 'zoned',
        ...endpointOf(s.target1, targetSchema(strategy)),
        user: role('dst'),
        password: PASSWORD,
        tables,
      },
    ],
    options: { mode: 'truncate', strategy, createExtensions: true, retries: 0 },
  };
}

describe.each(STRATEGIES)('bug: verify disagreed with the copy, strategy %s', (strategy) => {
  it('run --verify commits each converted column and pgcopy verify exits 0; a changed value is still caught', async () => {
    const tq = `"${targetSchema(strategy)}"`;
    const config = validateConfig(
      rawConfig(strategy, ['conv', 'same', 'more', 'zoned', 'tampered']),
    );
    const { report } = await run(config, { verify: true });
    const outcome = (table: string): unknown => {
      const found = report?.tables.find((t) => t.table === table);
      return [found?.status === 'error' ? 'error' : 'ok', found?.format, found?.error?.code];
    };
    expect(outcome('conv')).toEqual(['ok', 'text', undefined]);
    expect(outcome('more')).toEqual(['ok', 'text', undefined]);
    expect(outcome('zoned')).toEqual(['ok', 'text', undefined]);
    // Binary on stream (the same types on both sides), text on the server-side strategies.
    expect(outcome('same')).toEqual(['ok', strategy === 'stream' ? 'binary' : 'text', undefined]);
    // A trigger's change of one value is caught, and the table rolled back.
    expect(outcome('tampered')).toEqual(['error', 'text', 'VERIFY']);
    const counts = await sql(
      s.target1,
      `SELECT (SELECT count(*) FROM ${tq}.conv)::int AS conv, (SELECT count(*) FROM ${tq}.tampered)::int AS tampered`,
    );
    expect(counts.rows[0]).toEqual({ conv: 4, tampered: 0 });
    // The copy's own conversions, as the target holds them.
    const held = await sql(
      s.target1,
      `SET TimeZone = 'UTC'; SELECT f4::text, f8::text, ch, ts::text, d::text, tz::text, b, ip FROM ${tq}.conv WHERE id = 1`,
    );
    expect((held as unknown as { rows: unknown[] }[])[1]?.rows[0]).toEqual({
      f4: '0.1',
      f8: '0.1',
      ch: 'ab   ',
      ts: '2024-03-09 20:45:00+00',
      d: '2023-12-31 18:15:00+00',
      // postgres_fdw reads the source in UTC; the other strategies in the source's TimeZone.
      tz: strategy === 'fdw' ? '2024-06-01 12:00:00' : '2024-06-01 09:30:00',
      b: 't',
      ip: '10.0.0.1',
    });

    const work = await workDir(rawConfig(strategy, ['conv', 'same', 'more', 'zoned']));
    try {
      const verify = async (): Promise<{ code: number; report: VerifyReport }> => {
        const out = await cli(['verify', '-c', work.file, '--json'], { cwd: work.dir });
        return { code: out.code, report: JSON.parse(out.stdout) as VerifyReport };
      };
      const clean = await verify();
      expect(clean.report.tables.map((t) => [t.table, t.status, t.message])).toEqual([
        ['conv', 'match', undefined],
        ['same', 'match', undefined],
        ['more', 'match', undefined],
        ['zoned', 'match', undefined],
      ]);
      expect(clean.code).toBe(0);
      // A real difference in a converted column and in a same-typed one is still caught.
      await sql(
        s.target1,
        `UPDATE ${tq}.conv SET ch = 'ab' WHERE id = 1;
         UPDATE ${tq}.same SET tz = tz + interval '1 second' WHERE id = 2;
         UPDATE ${tq}.more SET tzd = tzd + 1 WHERE id = 1;
         UPDATE ${tq}.zoned SET s = s + interval '1 hour' WHERE id = 1`,
      );
      const changed = await verify();
      expect(changed.report.tables.map((t) => [t.table, t.status])).toEqual([
        ['conv', 'mismatch'],
        ['same', 'mismatch'],
        ['more', 'mismatch'],
        ['zoned', 'mismatch'],
      ]);
      expect(changed.code).toBe(1);
    } finally {
      await work.cleanup();
    }
  });
});

describe('bug: verify disagreed with the copy, through a shared read', () => {
  it('run --verify from one read into two targets in other time zones commits every converted table', async () => {
    const raw = rawConfig('stream', ['conv', 'same', 'more', 'zoned']);
    const [first] = raw.targets as Record<string, unknown>[];
    const config = validateConfig({
      ...raw,
      targets: [
        first,
        {
          ...first,
          name: 'far',
          ...endpointOf(s.target2, targetSchema('stream')),
          user: role('dst'),
          password: PASSWORD,
        },
      ],
    });
    const { report, plan } = await run(config, { verify: true });
    expect(plan.readOnce?.shared.map((r) => r.source).sort()).toEqual([
      'conv',
      'more',
      'same',
      'zoned',
    ]);
    expect(report?.tables.map((t) => [t.target, t.table, t.error?.message])).toEqual(
      ['zoned', 'far'].flatMap((target) =>
        ['conv', 'same', 'more', 'zoned'].map((table) => [target, table, undefined]),
      ),
    );
  });
});

describe('bug: verify disagreed with the copy, TimeZone set on the target database', () => {
  it('run --verify commits and pgcopy verify exits 0 with the target database in another zone', async () => {
    const database = role('zoned_db');
    await sql(s.target2, `CREATE DATABASE "${database}"`);
    try {
      await sql(
        s.target2,
        `ALTER DATABASE "${database}" SET TimeZone = 'Australia/Adelaide';
         ALTER DATABASE "${database}" SET DateStyle = 'German, DMY'`,
      );
      await sqlIn(
        s.target2,
        database,
        `CREATE SCHEMA ${q};
         CREATE TABLE ${q}.conv (id int PRIMARY KEY, ${TARGET_COLUMNS});
         CREATE TABLE ${q}.zoned (id int PRIMARY KEY, ${READ_TARGET_COLUMNS});`,
      );
      const raw = {
        source: endpointOf(s.source, schema),
        targets: [
          {
            name: 'db',
            ...endpointOf(s.target2, schema),
            database,
            tables: ['conv', 'zoned'],
          },
        ],
        options: { mode: 'truncate' },
      };
      const { report } = await run(validateConfig(raw), { verify: true });
      expect(report?.tables.map((t) => [t.table, t.error?.message])).toEqual([
        ['conv', undefined],
        ['zoned', undefined],
      ]);
      const work = await workDir(raw);
      try {
        const out = await cli(['verify', '-c', work.file], { cwd: work.dir });
        expect(out.code).toBe(0);
      } finally {
        await work.cleanup();
      }
    } finally {
      await sql(s.target2, `DROP DATABASE "${database}" WITH (FORCE)`);
    }
  });
});
