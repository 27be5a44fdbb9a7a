import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/copy/run.js';
import type { RunEvent } from '../../src/report/events.js';
import { pg13Server, servers, sql, tableDigest, uniqueName } from '../support/db.js';
import { testConfig } from '../support/config.js';
import type { ServerInfo } from '../support/server-info.js';

const s = servers();

// The same run from the suite's PostgreSQL 17 source and from PostgreSQL 13, the oldest source
// the tests cover (its catalog lacks columns newer servers have).
describe.each([
  ['PostgreSQL 17', s.source],
  ['PostgreSQL 13', pg13Server()],
] as [string, ServerInfo][])('pgcopy run (stream) from a %s source', (_, source) => {
  const schema = uniqueName('run_basic');
  const q = `"${schema}"`;

  beforeAll(async () => {
    await sql(
      source,
      `
      CREATE SCHEMA ${q};
      CREATE TABLE ${q}.items (id int PRIMARY KEY, name text, price numeric(10,2), note text);
      INSERT INTO ${q}.items SELECT g, 'item ' || g, g * 1.5, 'n' FROM generate_series(1, 10000) g;
      CREATE TABLE ${q}.empty (id int);
      CREATE TABLE ${q}.casted (id int4, label varchar(20));
      INSERT INTO ${q}.casted VALUES (1, 'a'), (2, 'b');
    `,
    );
    for (const target of [s.target1, s.target2]) {
      await sql(
        target,
        `
        CREATE SCHEMA ${q};
        CREATE TABLE ${q}.items (id int PRIMARY KEY, name text, price numeric(10,2), extra text DEFAULT 'd');
        CREATE TABLE ${q}.empty (id int);
        CREATE TABLE ${q}.casted (id int8, label text);
      `,
      );
    }
  });

  afterAll(async () => {
    for (const server of [source, s.target1, s.target2])
      await sql(server, `DROP SCHEMA ${q} CASCADE`);
  });

  it('copies shared columns into two targets with per-target routing and reports each pair', async () => {
    const events: RunEvent[] = [];
    const config = testConfig({ server: source, schema }, [
      { name: 'one', server: s.target1, schema, tables: ['items', 'empty'] },
      { name: 'two', server: s.target2, schema, tables: ['items', 'casted'] },
    ]);
    const { report } = await run(config, { onEvent: (e) => events.push(e) });
    expect(report?.tables.map((t) => [t.target, t.table, t.status, t.rows, t.format])).toEqual([
      ['one', 'items', 'warnings', 10000, 'binary'],
      ['one', 'empty', 'warnings', 0, 'binary'],
      ['two', 'items', 'warnings', 10000, 'binary'],
      ['two', 'casted', 'warnings', 2, 'text'],
    ]);
    expect(report?.status).toBe('warnings');
    expect(report?.snapshot).toMatch(/^[0-9A-F]+-[0-9A-F]+-\d+$/);
    expect(report?.tables[1]?.warnings).toEqual(['zero rows copied']);
    const expected = await tableDigest(source, `SELECT id, name, price FROM ${q}.items`);
    expect(await tableDigest(s.target1, `SELECT id, name, price FROM ${q}.items`)).toEqual(
      expected,
    );
    expect(await tableDigest(s.target2, `SELECT id, name, price FROM ${q}.items`)).toEqual(
      expected,
    );
    const extra = await sql(s.target1, `SELECT DISTINCT extra FROM ${q}.items`);
    expect(extra.rows).toEqual([{ extra: 'd' }]);
    expect(events.filter((e) => e.type === 'table-start')).toHaveLength(4);
    expect(events.at(-1)?.type).toBe('run-end');
  });
});
