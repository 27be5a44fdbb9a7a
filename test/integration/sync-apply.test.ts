import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalPostgres } from '../../src/demo/local-postgres.js';
import { quoteIdent, quoteLiteral } from '../../src/db/quote.js';
import { SyncSchemaError } from '../../src/errors.js';
import { formatLsn, parseLsn } from '../../src/sync/lsn.js';
import { advanceSlot, readSlot } from '../../src/sync/read-slot.js';
import { createSyncStateSql, readPositions, seedSql } from '../../src/sync/sync-state.js';
import { TargetApplier } from '../../src/sync/target-applier.js';
import type { ChangeSink, Lsn, TableMapping } from '../../src/sync/types.js';
import { connect, servers, sql, tableDigest, uniqueName } from '../support/db.js';
import { startLogicalSource } from '../support/logical-source.js';
import type { ServerInfo } from '../support/server-info.js';

const { target1, target2 } = servers();
const LEDGER = 'pgcopy';

/** Gives every call to each sink in turn: one read of the slot feeds several targets. */
function fanOut(...sinks: ChangeSink[]): ChangeSink {
  return {
    begin: async (t) => {
      for (const sink of sinks) await sink.begin(t);
    },
    change: async (c) => {
      for (const sink of sinks) await sink.change(c);
    },
    commit: async (t) => {
      for (const sink of sinks) await sink.commit(t);
    },
  };
}

function mapping(
  source: [string, string],
  target: [string, string],
  columns: Record<string, string>,
  extra: Partial<TableMapping> = {},
): TableMapping {
  return {
    sourceSchema: source[0],
    sourceTable: source[1],
    targetSchema: target[0],
    targetTable: target[1],
    columns: new Map(Object.entries(columns)),
    ...extra,
  };
}

async function targetClient(server: ServerInfo): Promise<pg.Client> {
  const client = await connect(server);
  // A terminated backend is expected in some tests: its error surfaces through the query.
  client.on('error', () => undefined);
  return client;
}

/** Positions as sync_state holds them, and an applier that starts from them. */
async function applierFor(
  client: pg.Client,
  slot: string,
  mappings: readonly TableMapping[],
  extra: Partial<ConstructorParameters<typeof TargetApplier>[0]> = {},
): Promise<TargetApplier> {
  const positions = await readPositions(client, LEDGER, slot);
  return new TargetApplier({ client, slot, ledgerSchema: LEDGER, mappings, positions, ...extra });
}

async function seed(server: ServerInfo, slot: string, tables: [string, string][], lsn: Lsn) {
  await sql(
    server,
    [
      createSyncStateSql(LEDGER, true),
      ...tables.map(([schema, table]) => seedSql(LEDGER, slot, { schema, table }, lsn)),
    ].join('; '),
  );
}

async function sameContent(
  source: ServerInfo,
  sourceQuery: string,
  target: ServerInfo,
  targetQuery: string,
): Promise<void> {
  const [expected, actual] = await Promise.all([
    tableDigest(source, sourceQuery),
    tableDigest(target, targetQuery),
  ]);
  expect(actual, targetQuery).toEqual(expected);
}

describe.each([17, 13] as const)('sync apply from a PostgreSQL %i source', (version) => {
  let server: LocalPostgres;
  let source: ServerInfo;
  const schema = uniqueName('SyncApply');
  const s = quoteIdent(schema);
  const slot = uniqueName('slot').toLowerCase();
  const publication = uniqueName('Pub');
  let created: Lsn;

  beforeAll(async () => {
    ({ server, info: source } = await startLogicalSource(`sync-apply-${version}`, version));
    const initial = {
      items: (cols: string) =>
        `INSERT INTO ${s}.items (${cols}) SELECT g, 'item ' || g, ${cols.includes('qty') ? "g, 'note', " : ''}repeat(md5(g::text), 100) FROM generate_series(1, 100) g`,
      events: `INSERT INTO ${s}.events SELECT g % 10, 'e' || g, json_build_object('g', g) FROM generate_series(1, 50) g`,
      trunc: `INSERT INTO ${s}.trunc SELECT g, 'x' FROM generate_series(1, 20) g`,
    };
    await sql(
      source,
      `CREATE SCHEMA ${s};
       CREATE TABLE ${s}.items (id int PRIMARY KEY, name text, qty int, note text, big text);
       ALTER TABLE ${s}.items ALTER big SET STORAGE EXTERNAL;
       CREATE TABLE ${s}.events (a int, b text, j json);
       ALTER TABLE ${s}.events REPLICA IDENTITY FULL;
       CREATE TABLE ${s}.bulk (id bigint PRIMARY KEY, v text);
       CREATE TABLE ${s}.trunc (id int PRIMARY KEY, v text);
       ${initial.items('id, name, qty, note, big')}; ${initial.events}; ${initial.trunc};
       CREATE PUBLICATION ${quoteIdent(publication)} FOR TABLE ${s}.items, ${s}.events, ${s}.bulk, ${s}.trunc`,
    );
    const made = await sql(
      source,
      `SELECT lsn::text FROM pg_create_logical_replication_slot($1, 'pgoutput')`,
      [slot],
    );
    created = parseLsn((made.rows[0] as { lsn: string }).lsn);
    // The first copy, as of the slot's start: the same rows, through each target's columns.
    await sql(
      target1,
      `CREATE SCHEMA ${s};
       CREATE TABLE ${s}.items (id int PRIMARY KEY, name text, qty int, note text, big text);
       CREATE TABLE ${s}.events (a int, b text, j json);
       CREATE TABLE ${s}.bulk (id bigint PRIMARY KEY, v text);
       CREATE TABLE ${s}.trunc (id int PRIMARY KEY, v text);
       ${initial.items('id, name, qty, note, big')}; ${initial.events}; ${initial.trunc}`,
    );
    await sql(
      target2,
      `CREATE SCHEMA ${s};
       CREATE TABLE ${s}.items (id int PRIMARY KEY, title text, big text);
       CREATE TABLE ${s}.events (a int, b text, j json);
       CREATE TABLE ${s}.bulk (id bigint, v text);
       ${initial.items('id, title, big')}; ${initial.events}`,
    );
    await seed(
      target1,
      slot,
      ['items', 'events', 'bulk', 'trunc'].map((t) => [schema, t]),
      created,
    );
    await seed(
      target2,
      slot,
      ['items', 'events', 'bulk'].map((t) => [schema, t]),
      created,
    );
  });

  afterAll(async () => {
    for (const target of [target1, target2]) {
      await sql(
        target,
        `DROP SCHEMA IF EXISTS ${s} CASCADE; DELETE FROM ${LEDGER}.sync_state WHERE slot = ${quoteLiteral(slot)}`,
      ).catch(() => undefined);
    }
    await server.stop();
  });

  const mappings1 = ['items', 'events', 'bulk', 'trunc'].map((t) => {
    const columns: Record<string, Record<string, string>> = {
      items: { id: 'id', name: 'name', qty: 'qty', note: 'note', big: 'big' },
      events: { a: 'a', b: 'b', j: 'j' },
      bulk: { id: 'id', v: 'v' },
      trunc: { id: 'id', v: 'v' },
    };
    return mapping([schema, t], [schema, t], columns[t] ?? {});
  });
  // target2: no qty or note, name renamed to title, no trunc table at all.
  const mappings2 = [
    mapping([schema, 'items'], [schema, 'items'], { id: 'id', name: 'title', big: 'big' }),
    mapping([schema, 'events'], [schema, 'events'], { a: 'a', b: 'b', j: 'j' }),
    mapping([schema, 'bulk'], [schema, 'bulk'], { id: 'id', v: 'v' }),
  ];

  it('carries inserts, updates (TOAST kept), deletes, a truncate, REPLICA IDENTITY FULL and a 50,000-row transaction to two targets through their mappings', async () => {
    const statements = [
      `INSERT INTO ${s}.items SELECT g, 'item ' || g, g, 'new', repeat(md5(g::text), 100) FROM generate_series(101, 300) g`,
      `UPDATE ${s}.items SET qty = qty + 1000 WHERE id % 3 = 0`,
      `UPDATE ${s}.items SET big = repeat('z', 5000) WHERE id = 7`,
      `UPDATE ${s}.items SET id = id + 10000 WHERE id % 10 = 1`,
      `DELETE FROM ${s}.items WHERE id % 7 = 0`,
      `UPDATE ${s}.items SET note = NULL, name = 'it''s "quoted" \\ here' WHERE id % 5 = 0`,
      `INSERT INTO ${s}.events VALUES (99, 'dup', '{"d": 1}'), (99, 'dup', '{"d": 1}'), (98, NULL, NULL)`,
      `UPDATE ${s}.events SET b = 'changed' WHERE a = 3`,
      `DELETE FROM ${s}.events WHERE a = 4`,
      `UPDATE ${s}.events SET b = 'one of two' WHERE ctid = (SELECT ctid FROM ${s}.events WHERE a = 99 LIMIT 1)`,
      `DELETE FROM ${s}.events WHERE ctid = (SELECT ctid FROM ${s}.events WHERE a = 99 AND b = 'dup' LIMIT 1)`,
      `UPDATE ${s}.events SET b = 'was null' WHERE a = 98`,
      `TRUNCATE ${s}.trunc`,
      `INSERT INTO ${s}.trunc SELECT g, 'after' FROM generate_series(1, 5) g`,
      `BEGIN; INSERT INTO ${s}.bulk SELECT g, md5(g::text) FROM generate_series(1, 50000) g;
       UPDATE ${s}.items SET name = 'in the big one' WHERE id = 2; DELETE FROM ${s}.bulk WHERE id = 17; COMMIT`,
    ];
    for (const statement of statements) await sql(source, statement);
    const sourceClient = await connect(source);
    const [client1, client2] = await Promise.all([targetClient(target1), targetClient(target2)]);
    try {
      // Small batches and pieces: the big transaction goes in many pieces, the others batched.
      const batch = { transactions: 4, bytes: 64 * 1024 };
      const one = await applierFor(client1, slot, mappings1, { batch, targetName: 'target1' });
      const two = await applierFor(client2, slot, mappings2, { batch, targetName: 'target2' });
      const read = await readSlot(
        sourceClient,
        { slot, publications: [publication] },
        fanOut(one, two),
      );
      expect(read.transactions).toBeGreaterThanOrEqual(statements.length);
      const [applied1, applied2] = [await one.finish(), await two.finish()];
      expect(applied1).toBe(read.lastEndLsn);
      expect(applied2).toBe(read.lastEndLsn);
      expect(one.counts).toMatchObject({ truncates: 1, inserts: 200 + 3 + 5 + 50_000 });
      expect(one.counts.updates).toBeGreaterThan(100);
      expect(two.counts.truncates).toBe(0);

      await sameContent(
        source,
        `SELECT id, name, qty, note, md5(big) FROM ${s}.items`,
        target1,
        `SELECT id, name, qty, note, md5(big) FROM ${s}.items`,
      );
      await sameContent(
        source,
        `SELECT id, name, md5(big) FROM ${s}.items`,
        target2,
        `SELECT id, title, md5(big) FROM ${s}.items`,
      );
      for (const target of [target1, target2]) {
        await sameContent(
          source,
          `SELECT a, b, j::text FROM ${s}.events`,
          target,
          `SELECT a, b, j::text FROM ${s}.events`,
        );
        await sameContent(
          source,
          `SELECT id, v FROM ${s}.bulk`,
          target,
          `SELECT id, v FROM ${s}.bulk`,
        );
      }
      await sameContent(
        source,
        `SELECT id, v FROM ${s}.trunc`,
        target1,
        `SELECT id, v FROM ${s}.trunc`,
      );
      // The TOASTed value an update left out is the target's own, kept.
      const kept = await sql(target1, `SELECT length(big) AS n FROM ${s}.items WHERE id = 3`);
      expect(kept.rows[0]).toEqual({ n: 3200 });

      // Read again from the positions sync_state now holds: nothing is applied twice.
      const again1 = await applierFor(client1, slot, mappings1);
      const again2 = await applierFor(client2, slot, mappings2);
      await readSlot(sourceClient, { slot, publications: [publication] }, fanOut(again1, again2));
      await again1.finish();
      await again2.finish();
      expect(again1.counts).toEqual({
        inserts: 0,
        updates: 0,
        deletes: 0,
        truncates: 0,
        transactions: 0,
      });
      await sameContent(
        source,
        `SELECT id, v FROM ${s}.bulk`,
        target2,
        `SELECT id, v FROM ${s}.bulk`,
      );

      // The slot moves to what both targets applied, never back.
      const to = applied1 as Lsn;
      expect(await advanceSlot(sourceClient, slot, to)).toBe(to);
      expect(await advanceSlot(sourceClient, slot, created)).toBe(to);
      const confirmed = await sql(
        source,
        'SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1',
        [slot],
      );
      expect(confirmed.rows[0]).toEqual({ lsn: formatLsn(to) });
      const after = await readSlot(sourceClient, { slot, publications: [publication] }, fanOut());
      expect(after.transactions).toBe(0);
    } finally {
      await Promise.all([client1.end(), client2.end(), sourceClient.end()]);
    }
  });

  it('stops with a SyncSchemaError naming the table and column when a mapped source column is dropped', async () => {
    await sql(
      source,
      `ALTER TABLE ${s}.items DROP COLUMN note; UPDATE ${s}.items SET qty = 1 WHERE id = 2`,
    );
    const sourceClient = await connect(source);
    const [client1, client2] = await Promise.all([targetClient(target1), targetClient(target2)]);
    try {
      const one = await applierFor(client1, slot, mappings1);
      const two = await applierFor(client2, slot, mappings2);
      // target2 does not take note: it carries on alone.
      await readSlot(sourceClient, { slot, publications: [publication] }, two);
      expect(await two.finish()).toBeGreaterThan(created);
      const failed = readSlot(sourceClient, { slot, publications: [publication] }, one);
      await expect(failed).rejects.toThrow(SyncSchemaError);
      await expect(failed).rejects.toMatchObject({ table: `${schema}.items`, column: 'note' });
      await one.discard();
      // The source connection is still usable after the failed read.
      expect((await sourceClient.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await Promise.all([client1.end(), client2.end(), sourceClient.end()]);
    }
  });
});
