import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/copy/run.js';
import type { LocalPostgres } from '../../src/demo/local-postgres.js';
import { verifyTables } from '../../src/verify/verify-tables.js';
import { testConfig } from '../support/config.js';
import { servers, sql, tableDigest, uniqueName } from '../support/db.js';
import type { ServerInfo } from '../support/server-info.js';
import { startPreparingTarget } from '../support/prepared-target.js';

/**
 * A split table with data rules: each part reads its own rows with the rules in its select list,
 * so the parts together write exactly what one stream would (the same key, the same values), and
 * `pgcopy verify` compares the masked columns with the rules' output.
 */

const ROWS = 30_000;
const schema = uniqueName('Data Rules Split');
const q = `"${schema}"`;
const s = servers();
let own: LocalPostgres;
let target: ServerInfo;
process.env['PGCOPY_SPLIT_MASK_KEY'] = 'split tables mask the same way';

beforeAll(async () => {
  ({ server: own, info: target } = await startPreparingTarget('data-rules-split'));
  await sql(
    s.source,
    `CREATE SCHEMA ${q};
     CREATE TABLE ${q}.contacts (id int PRIMARY KEY, email text UNIQUE, name text, note text);
     INSERT INTO ${q}.contacts
       SELECT g, 'someone' || g || '@corp.example', 'Person Number' || g, repeat('filler ', 20)
         FROM generate_series(1, ${ROWS}) g;
     ANALYZE ${q}.contacts;`,
  );
  const table = `CREATE SCHEMA ${q}; CREATE TABLE ${q}.contacts (id int PRIMARY KEY, email text UNIQUE, name text, note text);`;
  await sql(target, table);
  await sql(s.target1, table);
}, 60_000);

afterAll(async () => {
  await sql(s.source, `DROP SCHEMA ${q} CASCADE`);
  await sql(s.target1, `DROP SCHEMA ${q} CASCADE`);
  await own.stop();
});

const config = (server: ServerInfo, split: Record<string, unknown> | false) =>
  testConfig(
    { server: s.source, schema },
    [{ name: 'db_1', server, schema, tables: ['contacts'] }],
    {
      mode: 'append',
      retries: 0,
      concurrency: 2,
      split,
      dataRules: { email: { mask: 'email' }, name: { mask: 'letter' } },
      maskKey: { env: 'PGCOPY_SPLIT_MASK_KEY' },
    },
  );

describe('dataRules with options.split', () => {
  it('the parts of a split table write what one stream writes, masked, and verify matches', async () => {
    // run --verify keeps a table in one transaction: pgcopy verify checks the split copy after.
    const { report, plan } = await run(config(target, { minBytes: '1MB', parts: 2 }));
    expect(plan.targets[0]?.tables[0]?.split?.parts).toBe(2);
    expect(report?.tables.map((t) => [t.status, t.rows, t.error])).toEqual([['done', ROWS, null]]);
    await run(config(s.target1, false));
    const all = `SELECT * FROM ${q}.contacts`;
    expect(await tableDigest(target, all)).toEqual(await tableDigest(s.target1, all));
    const leaked = await sql(
      target,
      `SELECT count(*)::int AS n FROM ${q}.contacts WHERE email LIKE '%corp.example' OR name LIKE 'Person%'`,
    );
    expect(leaked.rows[0]).toEqual({ n: 0 });
    const verified = await verifyTables(config(target, false));
    expect(verified.tables.map((t) => t.status)).toEqual(['match']);
  });
});
