import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalPostgres } from '../../src/demo/local-postgres.js';
import { quoteIdent, quoteLiteral } from '../../src/db/quote.js';
import { SyncSchemaError } from '../../src/errors.js';
import { parseLsn } from '../../src/sync/lsn.js';
import { readSlot } from '../../src/sync/read-slot.js';
import { createSyncStateSql, readPositions, seedSql } from '../../src/sync/sync-state.js';
import { TargetApplier } from '../../src/sync/target-applier.js';
import type { Lsn, TableMapping } from '../../src/sync/types.js';
import { connect, servers, sql, tableDigest, uniqueName } from '../support/db.js';
import { startLogicalSource } from '../support/logical-source.js';
import type { ServerInfo } from '../support/server-info.js';

const { target1 } = servers();
const LEDGER = 'pgcopy';
let server: LocalPostgres;
let source: ServerInfo;

beforeAll(async () => {
  ({ server, info: source } = await startLogicalSource('sync-rules'));
});

afterAll(async () => {
  await server.stop();
});

/** A schema on the source and target1, a publication of its tables, a slot made after `setup`. */
async function scenario(
  sourceSql: string,
  targetSql: string,
): Promise<{
  schema: string;
  s: string;
  slot: string;
  publication: string;
  start: Lsn;
  drop: () => Promise<void>;
}> {
  const schema = uniqueName('SyncRules');
  const s = quoteIdent(schema);
  const slot = uniqueName('slot').toLowerCase();
  const publication = uniqueName('pub');
  await sql(
    source,
    `CREATE SCHEMA ${s}; ${sourceSql.replaceAll('$S', s)}; CREATE PUBLICATION ${quoteIdent(publication)} FOR TABLES IN SCHEMA ${s}`,
  );
  await sql(
    target1,
    `CREATE SCHEMA ${s}; ${targetSql.replaceAll('$S', s)}; ${createSyncStateSql(LEDGER, true)}`,
  );
  const made = await sql(
    source,
    `SELECT lsn::text FROM pg_create_logical_replication_slot($1, 'pgoutput')`,
    [slot],
  );
  const start = parseLsn((made.rows[0] as { lsn: string }).lsn);
  return {
    schema,
    s,
    slot,
    publication,
    start,
    drop: async () => {
      await sql(source, `SELECT pg_drop_replication_slot($1)`, [slot]);
      await sql(source, `DROP SCHEMA ${s} CASCADE; DROP PUBLICATION ${quoteIdent(publication)}`);
      await sql(
        target1,
        `DROP SCHEMA ${s} CASCADE; DELETE FROM ${LEDGER}.sync_state WHERE slot = ${quoteLiteral(slot)}`,
      );
    },
  };
}

function same(schema: string, table: string, columns: string[]): TableMapping {
  return {
    sourceSchema: schema,
    sourceTable: table,
    targetSchema: schema,
    targetTable: table,
    columns: new Map(columns.map((c) => [c, c])),
  };
}

async function apply(
  client: pg.Client,
  x: { slot: string; publication: string },
  mappings: TableMapping[],
): Promise<TargetApplier> {
  const sourceClient = await connect(source);
  try {
    const applier = new TargetApplier({
      client,
      slot: x.slot,
      ledgerSchema: LEDGER,
      mappings,
      positions: await readPositions(client, LEDGER, x.slot),
    });
    await readSlot(sourceClient, { slot: x.slot, publications: [x.publication] }, applier);
    await applier.finish();
    return applier;
  } finally {
    await sourceClient.end();
  }
}

async function sameRows(query: string): Promise<void> {
  const [expected, actual] = await Promise.all([
    tableDigest(source, query),
    tableDigest(target1, query),
  ]);
  expect(actual, query).toEqual(expected);
}

describe('sync apply rules', () => {
  it('a replica identity index, an insert-only table, a partitioned target truncated, a table not copied yet and one copied later', async () => {
    const x = await scenario(
      `CREATE TABLE $S.by_index (id int, code text NOT NULL, v text);
       CREATE UNIQUE INDEX by_index_code ON $S.by_index (code);
       ALTER TABLE $S.by_index REPLICA IDENTITY USING INDEX by_index_code;
       CREATE TABLE $S.journal (id int PRIMARY KEY, v text);
       CREATE TABLE $S.parts (id int PRIMARY KEY, v text);
       CREATE TABLE $S.later (id int PRIMARY KEY, v text);
       CREATE TABLE $S.never (id int PRIMARY KEY, v text)`,
      `CREATE TABLE $S.by_index (id int, code text NOT NULL, v text);
       CREATE TABLE $S.journal (id int, v text);
       CREATE TABLE $S.parts (id int, v text) PARTITION BY RANGE (id);
       CREATE TABLE $S.parts_low PARTITION OF $S.parts FOR VALUES FROM (0) TO (100);
       CREATE TABLE $S.parts_high PARTITION OF $S.parts FOR VALUES FROM (100) TO (1000);
       CREATE TABLE $S.later (id int PRIMARY KEY, v text);
       CREATE TABLE $S.never (id int PRIMARY KEY, v text)`,
    );
    const { s, schema } = x;
    const client = await connect(target1);
    try {
      await sql(
        source,
        `INSERT INTO ${s}.by_index SELECT g, 'c' || g, 'v' FROM generate_series(1, 10) g;
         INSERT INTO ${s}.journal SELECT g, 'j' FROM generate_series(1, 5) g;
         INSERT INTO ${s}.parts SELECT g * 37, 'p' FROM generate_series(1, 20) g;
         INSERT INTO ${s}.later VALUES (1, 'before the copy')`,
      );
      // `later` is copied now, in a newer snapshot: its position starts here.
      const { rows } = await sql(source, 'SELECT pg_current_wal_lsn()::text AS lsn');
      const copiedAt = parseLsn((rows[0] as { lsn: string }).lsn);
      await sql(target1, `INSERT INTO ${s}.later VALUES (1, 'before the copy')`);
      await sql(
        source,
        `UPDATE ${s}.by_index SET v = 'changed', code = code || 'x' WHERE id <= 3;
         DELETE FROM ${s}.by_index WHERE id = 4;
         UPDATE ${s}.journal SET v = 'changed'; DELETE FROM ${s}.journal WHERE id = 1;
         INSERT INTO ${s}.journal VALUES (6, 'j');
         INSERT INTO ${s}.later VALUES (2, 'after the copy');
         INSERT INTO ${s}.never VALUES (1, 'not copied')`,
      );
      await sql(source, `TRUNCATE ${s}.parts; INSERT INTO ${s}.parts VALUES (5, 'after')`);
      await sql(
        target1,
        ['by_index', 'journal', 'parts']
          .map((table) => seedSql(LEDGER, x.slot, { schema, table }, x.start))
          .concat(seedSql(LEDGER, x.slot, { schema, table: 'later' }, copiedAt))
          .join('; '),
      );
      const applier = await apply(client, x, [
        same(schema, 'by_index', ['id', 'code', 'v']),
        { ...same(schema, 'journal', ['id', 'v']), insertOnly: true },
        { ...same(schema, 'parts', ['id', 'v']), targetPartitioned: true },
        same(schema, 'later', ['id', 'v']),
        same(schema, 'never', ['id', 'v']),
      ]);
      await sameRows(`SELECT id, code, v FROM ${s}.by_index`);
      await sameRows(`SELECT id, v FROM ${s}.parts`);
      await sameRows(`SELECT id, v FROM ${s}.later`);
      // Insert-only: every insert, no update or delete.
      const journal = await sql(target1, `SELECT id, v FROM ${s}.journal ORDER BY id`);
      expect(journal.rows).toEqual([1, 2, 3, 4, 5, 6].map((id) => ({ id, v: 'j' })));
      // No position: never copied, so it takes nothing.
      expect((await sql(target1, `SELECT count(*)::int AS n FROM ${s}.never`)).rows).toEqual([
        { n: 0 },
      ]);
      expect(applier.counts.truncates).toBe(1);
      await x.drop();
    } finally {
      await client.end();
    }
  });

  it('a column added on the source while syncing is left out; the mapped ones carry on', async () => {
    const x = await scenario(
      `CREATE TABLE $S.growing (id int PRIMARY KEY, v text)`,
      `CREATE TABLE $S.growing (id int PRIMARY KEY, v text)`,
    );
    const client = await connect(target1);
    try {
      await sql(target1, seedSql(LEDGER, x.slot, { schema: x.schema, table: 'growing' }, x.start));
      await sql(source, `INSERT INTO ${x.s}.growing VALUES (1, 'a'), (2, 'b')`);
      await sql(source, `ALTER TABLE ${x.s}.growing ADD COLUMN w text DEFAULT 'new'`);
      await sql(
        source,
        `INSERT INTO ${x.s}.growing VALUES (3, 'c', 'w'); UPDATE ${x.s}.growing SET v = v || '!', w = 'x' WHERE id <= 2`,
      );
      await sql(source, `DELETE FROM ${x.s}.growing WHERE id = 3`);
      const applier = await apply(client, x, [same(x.schema, 'growing', ['id', 'v'])]);
      expect(applier.counts).toMatchObject({ inserts: 3, updates: 2, deletes: 1 });
      await sameRows(`SELECT id, v FROM ${x.s}.growing`);
      await x.drop();
    } finally {
      await client.end();
    }
  });

  it('a source table renamed while syncing: a SyncSchemaError, not its changes lost', async () => {
    const x = await scenario(
      `CREATE TABLE $S.moving (id int PRIMARY KEY, v text)`,
      `CREATE TABLE $S.moving (id int PRIMARY KEY, v text)`,
    );
    const client = await connect(target1);
    try {
      await sql(target1, seedSql(LEDGER, x.slot, { schema: x.schema, table: 'moving' }, x.start));
      await sql(source, `INSERT INTO ${x.s}.moving VALUES (1, 'a')`);
      await sql(source, `ALTER TABLE ${x.s}.moving RENAME TO moved`);
      await sql(source, `INSERT INTO ${x.s}.moved VALUES (2, 'b')`);
      const failed = apply(client, x, [same(x.schema, 'moving', ['id', 'v'])]);
      await expect(failed).rejects.toThrow(/is now named .*moved/);
      await expect(failed).rejects.toMatchObject({ table: `${x.schema}.moving` });
      await client.query('ROLLBACK');
      await x.drop();
    } finally {
      await client.end();
    }
  });

  it('a key column the target does not take: updates stop with a SyncSchemaError naming it', async () => {
    const x = await scenario(
      `CREATE TABLE $S.keyed (id int PRIMARY KEY, v text); INSERT INTO $S.keyed VALUES (1, 'a')`,
      `CREATE TABLE $S.keyed (v text)`,
    );
    const client = await connect(target1);
    try {
      await sql(target1, seedSql(LEDGER, x.slot, { schema: x.schema, table: 'keyed' }, x.start));
      await sql(source, `UPDATE ${x.s}.keyed SET v = 'b'`);
      const failed = apply(client, x, [
        { ...same(x.schema, 'keyed', []), columns: new Map([['v', 'v']]) },
      ]);
      await expect(failed).rejects.toThrow(SyncSchemaError);
      await expect(failed).rejects.toMatchObject({ column: 'id', table: `${x.schema}.keyed` });
      await client.query('ROLLBACK');
      await x.drop();
    } finally {
      await client.end();
    }
  });
});
