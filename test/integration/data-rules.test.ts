import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { plan } from '../../src/index.js';
import { run } from '../../src/copy/run.js';
import { planToJson, renderPlan } from '../../src/plan/render-plan.js';
import { verifyTables } from '../../src/verify/verify-tables.js';
import type { Config } from '../../src/config/types.js';
import type { ServerInfo } from '../support/server-info.js';
import { testConfig } from '../support/config.js';
import { pg13Server, servers, sql, tableDigest, uniqueName } from '../support/db.js';
import { MASK_KINDS } from '../../src/config/types.js';
import { ruleSql } from '../../src/masking/mask-sql.js';
import { derivedMaskKey } from '../../src/masking/mask-key.js';

/**
 * Data rules end to end: a users table, orders whose foreign key is a masked copy of users.email,
 * and free text that quotes names, e-mails and phones. After a run no original value is anywhere
 * in the targets, the foreign key and the unique key hold, the same key gives the same targets
 * (whatever the strategy), another key other values; verify compares the masked columns.
 */

const schema = uniqueName('Data Rules');
const q = `"${schema}"`;
const s = servers();
const USERS = 300;
process.env['PGCOPY_TEST_MASK_KEY_A'] = 'correct horse battery staple, one';
process.env['PGCOPY_TEST_MASK_KEY_B'] = 'a different key, every bit as long';

/** The options-level rules of these tests. */
const RULES = {
  '*email': { mask: 'email' },
  phone: { mask: 'phone' },
  'users.name': { mask: 'letter' },
  'orders.note': { mask: 'letter' },
  born: { mask: 'date' },
  ip: { mask: 'ip' },
  card: { mask: 'partial', last: 4 },
  'users.secret': { value: 'not here' },
  'orders.amount': { expression: 'amount - amount % 10' },
};

const targetTables = (tq: string, phoneType = 'text'): string => `
  DROP SCHEMA IF EXISTS ${tq} CASCADE; CREATE SCHEMA ${tq};
  CREATE TABLE ${tq}.users (id int PRIMARY KEY, email text NOT NULL UNIQUE, phone ${phoneType}, name text, born date, ip inet, card text, secret text);
  CREATE TABLE ${tq}.orders (id int PRIMARY KEY, user_email text NOT NULL REFERENCES ${tq}.users (email), note text, amount int);`;

let originals: string[] = [];

beforeAll(async () => {
  await sql(
    s.source,
    `CREATE SCHEMA ${q};
     CREATE TABLE ${q}.users (id int PRIMARY KEY, email text NOT NULL UNIQUE, phone text, name text, born date, ip inet, card text, secret text);
     CREATE TABLE ${q}.orders (id int PRIMARY KEY, user_email text NOT NULL REFERENCES ${q}.users (email), note text, amount int);
     INSERT INTO ${q}.users
       SELECT g, 'marguerite.vandersloot' || g || '@corp.example', '+44 20 7946 ' || lpad(g::text, 4, '0'),
              (ARRAY['Marguerite', 'Bartholomew', 'Ottoline'])[1 + g % 3] || ' Vandersloot' || g,
              '1970-01-01'::date + g * 17, ('10.0.' || g / 256 || '.' || g % 256)::inet,
              '4111 1111 1111 ' || lpad(g::text, 4, '0'), 'secret ' || g
         FROM generate_series(1, ${USERS}) g;
     INSERT INTO ${q}.orders
       SELECT o, u.email, 'Call ' || u.name || ' at ' || u.email || ' or ' || u.phone, o * 7
         FROM generate_series(1, ${USERS * 2}) o JOIN ${q}.users u ON u.id = 1 + o % ${USERS};`,
  );
  const found = await sql(
    s.source,
    `SELECT array_agg(v) AS v FROM (
       SELECT email FROM ${q}.users UNION ALL SELECT phone FROM ${q}.users
       UNION ALL SELECT name FROM ${q}.users UNION ALL SELECT secret FROM ${q}.users
       UNION ALL SELECT unnest(ARRAY['Marguerite', 'Bartholomew', 'Ottoline', 'Vandersloot', 'corp.example'])) o(v)`,
  );
  originals = (found.rows[0] as { v: string[] }).v;
});

afterAll(async () => {
  await sql(s.source, `DROP SCHEMA ${q} CASCADE`);
  const left = await sql(s.target1, `SELECT nspname FROM pg_namespace WHERE nspname LIKE $1`, [
    `${schema}%`,
  ]);
  for (const row of left.rows as { nspname: string }[]) {
    await sql(s.target1, `DROP SCHEMA "${row.nspname}" CASCADE`);
  }
  await sql(s.target2, `DROP SCHEMA IF EXISTS ${q} CASCADE`);
});

function config(
  targetSchema: string,
  options: Record<string, unknown> = {},
  target: Record<string, unknown> = {},
  server: ServerInfo = s.target1,
): Config {
  return testConfig(
    { server: s.source, schema },
    [{ name: 'staging', server, schema: targetSchema, tables: ['users', 'orders'], extra: target }],
    {
      mode: 'truncate',
      createExtensions: true,
      retries: 0,
      dataRules: RULES,
      maskKey: { env: 'PGCOPY_TEST_MASK_KEY_A' },
      ...options,
    },
  );
}

/** Every text form of every column of the target's tables that holds one of the originals. */
async function leaks(server: ServerInfo, tq: string): Promise<string[]> {
  const found: string[] = [];
  for (const [table, columns] of [
    ['users', ['email', 'phone', 'name', 'born', 'ip', 'card', 'secret']],
    ['orders', ['user_email', 'note', 'amount']],
  ] as const) {
    for (const column of columns) {
      const result = await sql(
        server,
        `SELECT DISTINCT o FROM ${tq}.${table} t, unnest($1::text[]) o WHERE strpos(t.${column}::text, o) > 0`,
        [originals],
      );
      found.push(...result.rows.map((r) => `${table}.${column}: ${(r as { o: string }).o}`));
    }
  }
  return found;
}

/** The foreign key and the unique key, checked by query (the load went through them too). */
async function keysHold(server: ServerInfo, tq: string): Promise<void> {
  const orphans = await sql(
    server,
    `SELECT count(*)::int AS n FROM ${tq}.orders o LEFT JOIN ${tq}.users u ON u.email = o.user_email WHERE u.id IS NULL`,
  );
  expect(orphans.rows[0]).toEqual({ n: 0 });
  const unique = await sql(
    server,
    `SELECT count(DISTINCT email)::int AS distinct, count(*)::int AS rows FROM ${tq}.users`,
  );
  expect(unique.rows[0]).toEqual({ distinct: USERS, rows: USERS });
}

const digestOf = async (server: ServerInfo, tq: string) => ({
  users: await tableDigest(server, `SELECT * FROM ${tq}.users`),
  orders: await tableDigest(server, `SELECT * FROM ${tq}.orders`),
});

describe('dataRules: masked on the source, consistent, nothing original in the target', () => {
  const streamed = `${schema}_stream`;
  const sq = `"${streamed}"`;

  it('stream: no original value anywhere in the target, the foreign key and unique key hold, binary COPY kept, verify matches', async () => {
    await sql(s.target1, targetTables(sq));
    const cfg = config(streamed);
    const planned = (await plan(cfg)).targets[0]?.tables;
    const users = planned?.find((t) => t.targetTable === 'users');
    expect(users?.errors).toEqual([]);
    expect(users?.format).toBe('binary');
    expect(users?.masks?.map((m) => [m.column, m.rule, m.from])).toEqual([
      ['email', 'mask email', 'options.dataRules["*email"]'],
      ['phone', 'mask phone', 'options.dataRules["phone"]'],
      ['name', 'mask letter', 'options.dataRules["users.name"]'],
      ['born', 'mask date', 'options.dataRules["born"]'],
      ['ip', 'mask ip', 'options.dataRules["ip"]'],
      ['card', 'mask partial (first 0, last 4)', 'options.dataRules["card"]'],
      ['secret', 'a fixed value', 'options.dataRules["users.secret"]'],
    ]);

    const { report, plan: ran } = await run(cfg, { verify: true });
    expect(report?.tables.map((t) => [t.table, t.status, t.rows, t.error])).toEqual([
      ['users', 'done', USERS, null],
      ['orders', 'done', USERS * 2, null],
    ]);
    expect(renderPlan(ran)).toContain(
      '⊘ users: "email" written as mask email, computed on the source (options.dataRules["*email"])',
    );
    const json = planToJson(ran) as { targets: { tables: { masks: unknown[] }[] }[] };
    expect(json.targets[0]?.tables[1]?.masks).toEqual([
      {
        column: 'user_email',
        source: 'user_email',
        rule: 'mask email',
        from: 'options.dataRules["*email"]',
      },
      {
        column: 'note',
        source: 'note',
        rule: 'mask letter',
        from: 'options.dataRules["orders.note"]',
      },
      {
        column: 'amount',
        source: 'amount',
        rule: 'an expression',
        from: 'options.dataRules["orders.amount"]',
      },
    ]);
    expect(await leaks(s.target1, sq)).toEqual([]);
    await keysHold(s.target1, sq);
    const sample = await sql(
      s.target1,
      `SELECT email, phone, card, secret, amount FROM ${sq}.users u JOIN ${sq}.orders o ON o.user_email = u.email WHERE u.id = 7 ORDER BY o.id LIMIT 1`,
    );
    const row = sample.rows[0] as Record<string, string | number>;
    expect(row['email']).toMatch(/^u[0-9a-f]{32}@example\.invalid$/);
    expect(row['phone']).toMatch(/^\+\d\d \d\d \d{4} \d{4}$/);
    expect(row['card']).toBe('***************0007');
    expect(row['secret']).toBe('not here');
    expect(Number(row['amount']) % 10).toBe(0);

    const verified = await verifyTables(cfg);
    expect(verified.tables.map((t) => [t.table, t.status])).toEqual([
      ['users', 'match'],
      ['orders', 'match'],
    ]);
  });

  it('the same key gives identical targets on a second run and through dblink and fdw-push; another key gives other values', async () => {
    const first = await digestOf(s.target1, sq);
    await run(config(streamed));
    expect(await digestOf(s.target1, sq)).toEqual(first);

    for (const strategy of ['dblink', 'fdw-push'] as const) {
      const name = `${schema}_${strategy}`;
      await sql(s.target1, targetTables(`"${name}"`));
      // A fresh schema: append (fdw-push cannot truncate a foreign key's parent).
      const { report } = await run(config(name, { strategy, mode: 'append' }), { verify: true });
      expect(report?.tables.map((t) => [strategy, t.table, t.status, t.error])).toEqual([
        [strategy, 'users', 'done', null],
        [strategy, 'orders', 'done', null],
      ]);
      expect(await digestOf(s.target1, `"${name}"`)).toEqual(first);
    }

    const other = `${schema}_other_key`;
    await sql(s.target1, targetTables(`"${other}"`));
    await run(config(other, { maskKey: { env: 'PGCOPY_TEST_MASK_KEY_B' } }));
    expect(await leaks(s.target1, `"${other}"`)).toEqual([]);
    await keysHold(s.target1, `"${other}"`);
    const shared = await sql(
      s.target1,
      `SELECT count(*)::int AS n FROM ${sq}.users a JOIN "${other}".users b ON a.email = b.email OR a.phone = b.phone OR a.name = b.name`,
    );
    expect(shared.rows[0]).toEqual({ n: 0 });
  });

  it('upsert and insert-new keyed on masked columns find their rows again: a second run changes nothing', async () => {
    const name = `${schema}_upsert`;
    await sql(s.target1, targetTables(`"${name}"`));
    for (const mode of ['upsert', 'upsert', 'insert-new'] as const) {
      const { report } = await run(config(name, { mode }), { verify: mode === 'upsert' });
      expect(report?.tables.map((t) => [t.table, t.status, t.error])).toEqual([
        ['users', 'done', null],
        ['orders', 'done', null],
      ]);
    }
    const again = await run(config(name, { mode: 'upsert' }));
    expect(again.report?.tables.map((t) => t.changes)).toEqual([
      { inserted: 0, updated: 0, unchanged: USERS },
      { inserted: 0, updated: 0, unchanged: USERS * 2 },
    ]);
    expect(await digestOf(s.target1, `"${name}"`)).toEqual(await digestOf(s.target1, sq));
  });

  it('fdw is refused in the plan: postgres_fdw would evaluate the rules on the target', async () => {
    const name = `${schema}_fdw`;
    await sql(s.target1, targetTables(`"${name}"`));
    const planned = (await plan(config(name, { strategy: 'fdw' }))).targets[0]?.tables;
    expect(planned?.[0]?.errors).toEqual([
      'strategy fdw reads the source through postgres_fdw on the target, so the data rules ("email", "phone", "name", "born", "ip", "card", "secret") would run after the values left the source: use stream, dblink or fdw-push for this table',
    ]);
  });

  it('shared read: two targets with different rules are projected separately, never one target rule applied to the other', async () => {
    await sql(s.target2, targetTables(q));
    const name = `${schema}_shared`;
    await sql(s.target1, targetTables(`"${name}"`));
    const cfg = testConfig(
      { server: s.source, schema },
      [
        { name: 'a', server: s.target1, schema: name, tables: ['users', 'orders'] },
        {
          name: 'b',
          server: s.target2,
          schema,
          tables: ['users', 'orders'],
          extra: { dataRules: { '*email': { mask: 'hash' }, 'users.name': null } },
        },
      ],
      // Append into empty tables: a truncate group's tables are never read once.
      { mode: 'append', dataRules: RULES, maskKey: { env: 'PGCOPY_TEST_MASK_KEY_A' } },
    );
    const { report, plan: ran } = await run(cfg, { verify: true });
    expect(ran.readOnce?.shared.map((r) => [r.source, r.pairs.length])).toEqual([
      ['users', 2],
      ['orders', 2],
    ]);
    expect(report?.tables.every((t) => t.status === 'done')).toBe(true);
    expect(await digestOf(s.target1, `"${name}"`)).toEqual(await digestOf(s.target1, sq));
    const b = await sql(
      s.target2,
      `SELECT count(*) FILTER (WHERE email ~ '^[0-9a-f]{32}$')::int AS hashed, count(name)::int AS names FROM ${q}.users`,
    );
    expect(b.rows[0]).toEqual({ hashed: USERS, names: 0 });
    expect(await leaks(s.target2, q)).toEqual([]);
    await keysHold(s.target2, q);
    // The same key: b's hash starts with the digits of a's e-mail mask.
    const aEmail = await sql(s.target1, `SELECT email FROM "${name}".users WHERE id = 1`);
    const bEmail = await sql(s.target2, `SELECT email FROM ${q}.users WHERE id = 1`);
    const hex = (aEmail.rows[0] as { email: string }).email.slice(1, 33);
    expect((bEmail.rows[0] as { email: string }).email.startsWith(hex)).toBe(true);
  });

  it('every keyed mask gives the same output on PostgreSQL 13 as on 17 (the same key, the same value)', async () => {
    const key = derivedMaskKey('correct horse battery staple, one');
    const column = { name: 'v', type: 'text', typeSql: 'text', category: 'S' };
    const typed: Record<string, typeof column> = {
      int: { name: 'v', type: 'bigint', typeSql: 'bigint', category: 'N' },
      date: { name: 'v', type: 'date', typeSql: 'date', category: 'D' },
      time: {
        name: 'v',
        type: 'time without time zone',
        typeSql: 'time without time zone',
        category: 'D',
      },
    };
    const values: Record<string, string> = { int: '42', date: '1999-12-31', time: '12:34:56' };
    const outputs = async (server: ServerInfo): Promise<unknown[]> => {
      const found: unknown[] = [];
      for (const mask of MASK_KINDS) {
        const c = typed[mask] ?? column;
        const built = ruleSql({ kind: 'mask', mask }, c);
        if (!('sql' in built)) throw new Error(built.error);
        const value = values[mask] ?? 'Ann Example, +1 555 0100, ann@example.org';
        const result = await sql(
          server,
          `SELECT set_config('pgcopy.mask_key', $1, false), (SELECT ${built.sql}::text FROM (SELECT $2::${c.typeSql} AS v) AS r) AS out`,
          [key, value],
        );
        found.push([mask, (result.rows[0] as { out: string }).out]);
      }
      return found;
    };
    const on17 = await outputs(s.source);
    expect(await outputs(pg13Server())).toEqual(on17);
    // phone replaces digits only, partial keeps its ends: the others keep nothing of the value.
    const whole = on17.filter((o) => !['phone', 'partial'].includes((o as string[])[0] ?? ''));
    expect(whole.filter((o) => (o as string[])[1]?.includes('ann'))).toEqual([]);
  });
});
