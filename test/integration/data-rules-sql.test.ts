import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataRule, MaskKind } from '../../src/config/types.js';
import { quoteIdent } from '../../src/db/quote.js';
import { derivedMaskKey, maskKeyOptions } from '../../src/masking/mask-key.js';
import {
  MASK_KEY_SETTING,
  describeRule,
  isKeyed,
  ruleSql,
  type MaskedColumn,
} from '../../src/masking/mask-sql.js';
import { servers, sql, uniqueName } from '../support/db.js';

/**
 * The SQL of every rule, run on a real source server over a table with one column of each type
 * a mask may meet: the output's type, its bounds, NULLs, determinism and the key's effect.
 */

const KEY_A = 'mask-key-a-0123456789abcdef';
const KEY_B = 'mask-key-b-0123456789abcdef';
const schema = uniqueName('Masks');
const table = `${quoteIdent(schema)}.${quoteIdent('People')}`;

/** id 1 and 2 hold values, 3 only NULLs, 4 a second set of values, 5 empty strings. */
const COLUMNS = `
  id int PRIMARY KEY,
  si smallint, i integer, b bigint, n numeric, n52 numeric(5,2), n20 numeric(20), n22 numeric(2,2),
  d date, ts timestamp, ts3 timestamp(3), tstz timestamptz, t time, ttz timetz,
  ip inet, net cidr,
  tx text, vc40 varchar(40), vc20 varchar(20), vc10 varchar(10), vc15 varchar(15), ch12 char(12),
  "Mixed Case" text, arr text[], flag boolean, doc jsonb, r real`;

const ROWS = `
  (1, 12, 123456, 9876543210, 42.5, 123.45, 12345678901234567890, 0.12,
   '1987-06-05', '2001-02-03 04:05:06', '2001-02-03 04:05:06.789', '2001-02-03 04:05:06+00', '13:14:15', '13:14:15+02',
   '10.1.2.3', '10.1.0.0/16',
   'alice@example.com', 'alice@example.com', 'alice.smith', 'alice', '192.168.100.200', 'Alice',
   'Élodie Dupont-Smith, 42', '{a,b}', true, '{"a": 1}', 1.5),
  (2, -7, -1, -1, -3, -1.5, 1, -0.5,
   '2024-02-29', '1999-12-31 23:59:59', '1999-12-31 23:59:59.999', '1999-12-31 23:59:59-05', '00:00:01', '00:00:01-03',
   '2001:db8::1', '2001:db8::/32',
   '+61 (02) 9876-5432', 'bob@example.org', '0412 345 678', 'bob', 'bob', 'Bob',
   'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', '{}', false, '[]', -2),
  (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
   NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (4, 13, 123457, 9876543211, 42.6, 123.46, 12345678901234567891, 0.13,
   '1987-06-06', '2001-02-03 04:05:07', '2001-02-03 04:05:06.79', '2001-02-03 04:05:07+00', '13:14:16', '13:14:16+02',
   '10.1.2.4', '10.2.0.0/16',
   'carol@example.com', 'carol@example.com', 'carol.jones', 'carol', '10.0.0.1', 'Carol',
   'ABCdef 123', '{c}', true, '{"b": 2}', 2.5),
  (5, 0, 0, 0, 0, 0, 0, 0,
   '2000-01-01', '2000-01-01 00:00:00', '2000-01-01 00:00:00', '2000-01-01 00:00:00+00', '00:00:00', '00:00:00+00',
   '0.0.0.0', '0.0.0.0/0',
   '', '', '', '', '', '',
   '', '{}', false, 'null', 0)`;

interface CatalogColumn extends MaskedColumn {
  readonly oid: number;
  readonly typmod: number;
}

let columns: Map<string, CatalogColumn>;
const clients = new Map<string, pg.Client>();

/** A source session as pgcopy opens it: the derived key set at connection time. */
async function sessionWith(key: string): Promise<pg.Client> {
  const existing = clients.get(key);
  if (existing) return existing;
  const server = servers().source;
  const client = new pg.Client({
    ...server,
    database: 'postgres',
    options: maskKeyOptions(derivedMaskKey(key)),
  });
  await client.connect();
  clients.set(key, client);
  return client;
}

function column(name: string): CatalogColumn {
  const c = columns.get(name);
  if (!c) throw new Error(`no column ${name}`);
  return c;
}

function sqlOf(rule: DataRule, name: string): string {
  const built = ruleSql(rule, column(name));
  if ('error' in built) throw new Error(`unexpected refusal: ${built.error}`);
  return built.sql;
}

function errorOf(rule: DataRule, name: string): string {
  const built = ruleSql(rule, column(name));
  if (!('error' in built)) throw new Error(`expected ${name} to be refused`);
  return built.error;
}

interface Masked {
  /** id -> the masked value as the server's text (NULL as null). */
  readonly values: Map<number, string | null>;
  readonly oid: number;
  readonly typmod: number;
}

/** Runs the rule's SQL over every row; the output column's type as the server describes it. */
async function run(rule: DataRule, name: string, key = KEY_A, setup?: string): Promise<Masked> {
  const client = await sessionWith(key);
  if (setup !== undefined) await client.query(setup);
  try {
    // Text results: the server's own output of the type, as COPY's text format would give it.
    const result = await client.query<{ id: string; v: string | null }>({
      text: `SELECT id, (${sqlOf(rule, name)}) AS v FROM ${table} ORDER BY id`,
      types: { getTypeParser: () => (value: string) => value },
    });
    const field = result.fields[1];
    if (!field) throw new Error('no output column');
    return {
      values: new Map(result.rows.map((r) => [Number(r.id), r.v])),
      oid: field.dataTypeID,
      typmod: field.dataTypeModifier,
    };
  } finally {
    if (setup !== undefined) await client.query('RESET ALL');
  }
}

function value(masked: Masked, id: number): string | null {
  expect(masked.values.has(id)).toBe(true);
  return masked.values.get(id) ?? null;
}

function text(masked: Masked, id: number): string {
  const v = value(masked, id);
  expect(v).not.toBeNull();
  return v as string;
}

async function original(name: string, id: number): Promise<string | null> {
  const rows = await sql(
    servers().source,
    `SELECT ${quoteIdent(name)}::text AS v FROM ${table} WHERE id = $1`,
    [id],
  );
  return (rows.rows[0] as { v: string | null }).v;
}

/** The output keeps the column's type and type modifier: the COPY format still holds. */
function expectColumnType(masked: Masked, name: string): void {
  expect({ oid: masked.oid, typmod: masked.typmod }).toEqual({
    oid: column(name).oid,
    typmod: column(name).typmod,
  });
}

const mask = (kind: MaskKind, extra: { first?: number; last?: number } = {}): DataRule => ({
  kind: 'mask',
  mask: kind,
  ...extra,
});

beforeAll(async () => {
  const server = servers().source;
  await sql(server, `CREATE SCHEMA ${quoteIdent(schema)}`);
  await sql(server, `CREATE TABLE ${table} (${COLUMNS})`);
  await sql(server, `INSERT INTO ${table} VALUES ${ROWS}`);
  const result = await sql(
    server,
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
            t.typcategory::text AS category, a.atttypid::int AS oid, a.atttypmod AS typmod
     FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
     WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped`,
    [table],
  );
  columns = new Map(
    (
      result.rows as {
        name: string;
        type: string;
        category: string;
        oid: number;
        typmod: number;
      }[]
    ).map((r) => [r.name, { ...r, typeSql: r.type }]),
  );
});

afterAll(async () => {
  for (const client of clients.values()) await client.end();
  await sql(servers().source, `DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
});

describe('the session key', () => {
  it('reaches the source session as a setting given at connection time', async () => {
    const client = await sessionWith(KEY_A);
    const result = await client.query<{ key: string }>(
      `SELECT current_setting('${MASK_KEY_SETTING}') AS key`,
    );
    expect(result.rows[0]?.key).toBe(derivedMaskKey(KEY_A));
    expect(result.rows[0]?.key).toMatch(/^[0-9a-f]{32}$/);
    expect(() => maskKeyOptions('not hex; -c other=1')).toThrow(/hex/);
  });
});

describe('keyed masks on text columns', () => {
  it('email: a reserved-domain address of 32 hex digits, the same for the same key and value', async () => {
    const a = await run(mask('email'), 'tx');
    const again = await run(mask('email'), 'tx');
    const b = await run(mask('email'), 'tx', KEY_B);
    expectColumnType(a, 'tx');
    for (const id of [1, 2, 4]) {
      expect(text(a, id)).toMatch(/^u[0-9a-f]{32}@example\.invalid$/);
      expect(text(a, id)).not.toContain((await original('tx', id)) ?? '');
      expect(text(b, id)).not.toBe(text(a, id));
    }
    expect(a.values).toEqual(again.values);
    expect(new Set([1, 2, 4].map((id) => text(a, id))).size).toBe(3);
    expect(value(a, 3)).toBeNull();
    // The empty string is a value: it gets an address too.
    expect(text(a, 5)).toMatch(/^u[0-9a-f]{32}@example\.invalid$/);
  });

  it('email: the same value gives the same address in columns of other types (a foreign key holds)', async () => {
    const text40 = await run(mask('email'), 'vc40');
    const unbounded = await run(mask('email'), 'tx');
    expectColumnType(text40, 'vc40');
    // Row 1 holds alice@example.com in both; varchar(40) keeps 23 of the 32 digits.
    expect(text(text40, 1)).toHaveLength(40);
    expect(text(text40, 1)).toMatch(/^u[0-9a-f]{23}@example\.invalid$/);
    expect(text(unbounded, 1).slice(0, 24)).toBe(text(text40, 1).slice(0, 24));
  });

  it('email and hash: refused where the column is too short for 16 digits', () => {
    expect(errorOf(mask('email'), 'vc20')).toBe(
      'mask email needs at least 33 characters; the column is character varying(20)',
    );
    expect(errorOf(mask('hash'), 'ch12')).toBe(
      'mask hash needs at least 16 characters; the column is character(12)',
    );
  });

  it('hash: 32 hex digits, or as many as varchar(n) holds', async () => {
    const full = await run(mask('hash'), 'tx');
    const short = await run(mask('hash'), 'vc20');
    const other = await run(mask('hash'), 'vc20', KEY_B);
    expectColumnType(full, 'tx');
    expectColumnType(short, 'vc20');
    expect(text(full, 1)).toMatch(/^[0-9a-f]{32}$/);
    for (const id of [1, 2, 4, 5]) {
      expect(text(short, id)).toMatch(/^[0-9a-f]{20}$/);
      expect(text(other, id)).not.toBe(text(short, id));
    }
    expect(value(full, 3)).toBeNull();
    expect(value(short, 3)).toBeNull();
  });

  it('phone: every digit replaced by a keyed digit, the layout kept', async () => {
    const a = await run(mask('phone'), 'tx');
    const b = await run(mask('phone'), 'tx', KEY_B);
    const again = await run(mask('phone'), 'tx');
    expectColumnType(a, 'tx');
    const before = (await original('tx', 2)) ?? '';
    const after = text(a, 2);
    expect(after).toHaveLength(before.length);
    expect(after.replace(/\d/g, '0')).toBe(before.replace(/\d/g, '0'));
    expect(after).not.toBe(before);
    expect(text(b, 2)).not.toBe(after);
    expect(again.values).toEqual(a.values);
    // No digits: nothing to replace.
    expect(text(a, 1)).toBe('alice@example.com');
    expect(value(a, 3)).toBeNull();
    expect(text(a, 5)).toBe('');
  });

  it('phone: fits varchar(n) and char(n) (the length never grows)', async () => {
    const vc = await run(mask('phone'), 'vc20');
    const ch = await run(mask('phone'), 'ch12');
    expectColumnType(vc, 'vc20');
    expectColumnType(ch, 'ch12');
    expect(text(vc, 2)).toMatch(/^\d{4} \d{3} \d{3}$/);
    expect(text(vc, 2)).not.toBe('0412 345 678');
    expect(text(ch, 1)).toBe('Alice       ');
  });

  it('letter: letters by letters of the same case, digits by digits, punctuation and spaces kept', async () => {
    const a = await run(mask('letter'), 'Mixed Case');
    const b = await run(mask('letter'), 'Mixed Case', KEY_B);
    expectColumnType(a, 'Mixed Case');
    const before = (await original('Mixed Case', 4)) ?? '';
    const after = text(a, 4);
    expect(after).toMatch(/^[A-Z]{3}[a-z]{3} \d{3}$/);
    expect(after).not.toBe(before);
    expect(text(b, 4)).not.toBe(after);
    // Non-ASCII letters become ASCII letters; the layout stays.
    const name = text(a, 1);
    expect(Array.from(name)).toHaveLength(Array.from('Élodie Dupont-Smith, 42').length);
    expect(name).toMatch(/^[A-Za-z][a-z]{5} [A-Z][a-z]{5}-[A-Z][a-z]{4}, \d\d$/);
    expect(name.slice(1)).not.toContain('lodie');
    expect(value(a, 3)).toBeNull();
    expect(text(a, 5)).toBe('');
  });

  it('letter: past 16 characters, a repeated character is not written the same way 16 places on', async () => {
    const a = await run(mask('letter'), 'Mixed Case');
    const masked = text(a, 2);
    expect(masked).toMatch(/^[a-z]{40}$/);
    for (let i = 0; i + 16 < masked.length; i += 1) {
      expect(masked[i + 16]).not.toBe(masked[i]);
    }
  });

  it('partial: keeps exactly the first and last N characters, stars between; not keyed', async () => {
    const rule = mask('partial', { first: 2, last: 3 });
    const a = await run(rule, 'tx');
    const b = await run(rule, 'tx', KEY_B);
    expectColumnType(a, 'tx');
    expect(text(a, 1)).toBe('al************com');
    expect(text(a, 2)).toBe('+6*************432');
    expect(b.values).toEqual(a.values);
    expect(value(a, 3)).toBeNull();
    expect(text(a, 5)).toBe('');
    expect(isKeyed(rule)).toBe(false);
    expect(describeRule(rule)).toBe('mask partial (first 2, last 3)');
  });

  it('partial: defaults to the last 4; a value no longer than first + last is all stars', async () => {
    const byDefault = await run(mask('partial'), 'vc10');
    expectColumnType(byDefault, 'vc10');
    expect(text(byDefault, 1)).toBe('*lice');
    expect(text(byDefault, 2)).toBe('***');
    expect(describeRule(mask('partial'))).toBe('mask partial (first 0, last 4)');
    const short = await run(mask('partial', { first: 3, last: 2 }), 'vc10');
    expect(text(short, 1)).toBe('*****');
    expect(text(short, 4)).toBe('*****');
    const long = await run(mask('partial', { first: 1, last: 1 }), 'vc20');
    expect(text(long, 1)).toBe('a*********h');
  });

  it('partial: on char(n), the padding is not a character kept', async () => {
    const masked = await run(mask('partial', { first: 1, last: 1 }), 'ch12');
    expectColumnType(masked, 'ch12');
    expect(text(masked, 1)).toBe('A***e       ');
  });

  it('refuse columns that are not text (arrays, booleans, json, numbers)', () => {
    for (const kind of ['email', 'hash', 'phone', 'letter', 'partial'] as const) {
      for (const name of ['arr', 'flag', 'doc', 'i']) {
        expect(errorOf(mask(kind), name)).toBe(
          `mask ${kind} writes text; the column is ${column(name).type}`,
        );
      }
    }
  });
});

describe('int', () => {
  const bounds: [string, bigint][] = [
    ['si', 32768n],
    ['i', 2147483648n],
    ['b', 9223372036854775808n],
    ['n', 10n ** 18n],
    ['n20', 10n ** 18n],
    ['n52', 1000n],
  ];

  it.each(bounds)('%s: a keyed non-negative whole number within the type', async (name, bound) => {
    const a = await run(mask('int'), name);
    const b = await run(mask('int'), name, KEY_B);
    expectColumnType(a, name);
    for (const id of [1, 2, 4, 5]) {
      const v = text(a, id);
      expect(v).toMatch(/^\d+(\.00)?$/);
      expect(BigInt(v.replace(/\.00$/, ''))).toBeLessThan(bound);
    }
    expect(value(a, 3)).toBeNull();
    const outputs = [1, 2, 4, 5].map((id) => text(a, id));
    expect(new Set(outputs).size).toBe(4);
    expect([1, 2, 4, 5].map((id) => text(b, id))).not.toEqual(outputs);
  });

  it('the same number gives the same output whatever its integer type', async () => {
    // Row 5 holds 0 in every numeric column.
    const si = text(await run(mask('int'), 'si'), 5);
    const b = text(await run(mask('int'), 'b'), 5);
    expect(BigInt(b) % 32768n).toBe(BigInt(si));
  });

  it('refuses a numeric with no whole digits, and non-integer types', () => {
    expect(errorOf(mask('int'), 'n22')).toBe(
      'mask int needs whole digits; the column is numeric(2,2)',
    );
    for (const name of ['r', 'tx', 'd', 'arr']) {
      expect(errorOf(mask('int'), name)).toBe(
        `mask int writes integers; the column is ${column(name).type}`,
      );
    }
  });
});

describe('date and time', () => {
  it.each(['d', 'ts', 'ts3', 'tstz'])(
    'date on %s: a keyed moment in the hundred years from 1940',
    async (name) => {
      const a = await run(mask('date'), name, KEY_A, `SET TimeZone = 'UTC'`);
      const b = await run(mask('date'), name, KEY_B, `SET TimeZone = 'UTC'`);
      expectColumnType(a, name);
      for (const id of [1, 2, 4, 5]) {
        const v = text(a, id);
        const year = Number(v.slice(0, 4));
        expect(year).toBeGreaterThanOrEqual(1940);
        expect(year).toBeLessThan(2040);
        expect(v).not.toBe(await original(name, id));
      }
      expect(value(a, 3)).toBeNull();
      expect(new Set([1, 2, 4, 5].map((id) => text(a, id))).size).toBe(4);
      expect([1, 2, 4].map((id) => text(b, id))).not.toEqual([1, 2, 4].map((id) => text(a, id)));
    },
  );

  it('date on timestamptz: the same instant whatever the session time zone', async () => {
    const utc = await run(mask('date'), 'tstz', KEY_A, `SET TimeZone = 'UTC'`);
    const sydney = await run(mask('date'), 'tstz', KEY_A, `SET TimeZone = 'Australia/Sydney'`);
    for (const id of [1, 2, 4, 5]) {
      expect(new Date(text(sydney, id)).getTime()).toBe(new Date(text(utc, id)).getTime());
    }
  });

  it('date refuses times of day, intervals and text', () => {
    for (const name of ['t', 'ttz', 'tx']) {
      expect(errorOf(mask('date'), name)).toBe(
        `mask date writes dates; the column is ${column(name).type}`,
      );
    }
  });

  it.each(['t', 'ttz'])('time on %s: a keyed time of day', async (name) => {
    const a = await run(mask('time'), name, KEY_A, `SET TimeZone = 'UTC'`);
    const b = await run(mask('time'), name, KEY_B, `SET TimeZone = 'UTC'`);
    expectColumnType(a, name);
    for (const id of [1, 2, 4, 5]) {
      expect(text(a, id)).toMatch(/^([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\+00)?$/);
      expect(text(a, id)).not.toBe(await original(name, id));
    }
    expect(value(a, 3)).toBeNull();
    expect([1, 2, 4].map((id) => text(b, id))).not.toEqual([1, 2, 4].map((id) => text(a, id)));
  });

  it('time refuses dates, timestamps and text', () => {
    for (const name of ['d', 'ts', 'tstz', 'tx']) {
      expect(errorOf(mask('time'), name)).toBe(
        `mask time writes times of day; the column is ${column(name).type}`,
      );
    }
  });
});

describe('ip', () => {
  const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(\/32)?$/;

  it.each(['ip', 'net', 'tx', 'vc15'])('on %s: a keyed IPv4 address', async (name) => {
    const a = await run(mask('ip'), name);
    const b = await run(mask('ip'), name, KEY_B);
    expectColumnType(a, name);
    const ids = name === 'ip' || name === 'net' ? [1, 2, 4, 5] : [1, 2, 4];
    for (const id of ids) {
      const match = IPV4.exec(text(a, id));
      expect(match).not.toBeNull();
      for (const octet of (match ?? []).slice(1, 5)) expect(Number(octet)).toBeLessThan(256);
      expect(text(a, id)).not.toBe(await original(name, id));
    }
    expect(value(a, 3)).toBeNull();
    expect(ids.map((id) => text(b, id))).not.toEqual(ids.map((id) => text(a, id)));
  });

  it('refuses a text column too short for every IPv4 address', () => {
    // An explicit cast to varchar(10) would cut "123.234.45.67" to "123.234.45".
    expect(errorOf(mask('ip'), 'vc10')).toBe(
      'mask ip needs at least 15 characters; the column is character varying(10)',
    );
    expect(errorOf(mask('ip'), 'ch12')).toBe(
      'mask ip needs at least 15 characters; the column is character(12)',
    );
  });

  it('refuses numbers and arrays', () => {
    for (const name of ['i', 'arr', 'd']) {
      expect(errorOf(mask('ip'), name)).toBe(
        `mask ip writes IPv4 addresses; the column is ${column(name).type}`,
      );
    }
  });
});

describe('null, value and expression rules', () => {
  it('null: NULL of the column type in every row', async () => {
    const masked = await run({ kind: 'null' }, 'vc20');
    expectColumnType(masked, 'vc20');
    expect([...masked.values.values()]).toEqual([null, null, null, null, null]);
    expect(describeRule({ kind: 'null' })).toBe('null');
    expect(isKeyed({ kind: 'null' })).toBe(false);
  });

  it('value: the fixed value, quoted, cast to the column type', async () => {
    const rule: DataRule = { kind: 'value', value: "O'Brien" };
    const masked = await run(rule, 'vc20');
    expectColumnType(masked, 'vc20');
    expect(new Set(masked.values.values())).toEqual(new Set(["O'Brien"]));
    const date = await run({ kind: 'value', value: '2000-01-01' }, 'd');
    expectColumnType(date, 'd');
    expect(describeRule(rule)).toBe('a fixed value');
  });

  it('value: refused where it is longer than varchar(n) or char(n), which a cast would cut short', async () => {
    expect(errorOf({ kind: 'value', value: 'REDACTED-VALUE' }, 'vc10')).toBe(
      'the value has 14 characters; the column is character varying(10)',
    );
    expect(errorOf({ kind: 'value', value: 'Anonymous-XYZ' }, 'ch12')).toBe(
      'the value has 13 characters; the column is character(12)',
    );
    // Characters, not bytes: ten characters in fourteen bytes fit varchar(10).
    const fits = await run({ kind: 'value', value: 'Éléonore-É' }, 'vc10');
    expect(new Set(fits.values.values())).toEqual(new Set(['Éléonore-É']));
    const padded = await run({ kind: 'value', value: 'Anonymous' }, 'ch12');
    expect(text(padded, 1)).toBe('Anonymous   ');
  });

  it('expression: SQL over the source row, a trailing comment cannot swallow the cast', async () => {
    const rule: DataRule = { kind: 'expression', expression: `id * 10 -- ten times` };
    const masked = await run(rule, 'b');
    expectColumnType(masked, 'b');
    expect([...masked.values.values()]).toEqual(['10', '20', '30', '40', '50']);
    expect(describeRule(rule)).toBe('an expression');
  });

  it('keyed masks are every mask but partial', () => {
    for (const kind of ['email', 'hash', 'phone', 'letter', 'int', 'date', 'time', 'ip'] as const) {
      expect(isKeyed(mask(kind))).toBe(true);
      expect(describeRule(mask(kind))).toBe(`mask ${kind}`);
    }
  });
});
