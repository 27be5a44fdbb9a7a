import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalPostgres } from '../../src/demo/local-postgres.js';
import { quoteIdent, quoteLiteral } from '../../src/db/quote.js';
import { parseLsn } from '../../src/sync/lsn.js';
import { advanceSlot, readSlot } from '../../src/sync/read-slot.js';
import { SyncError } from '../../src/errors.js';
import { createSyncStateSql, readPositions, seedSql } from '../../src/sync/sync-state.js';
import { TargetApplier } from '../../src/sync/target-applier.js';
import type { Change, ChangeSink, TableMapping } from '../../src/sync/types.js';
import { connect, servers, sql, tableDigest, uniqueName } from '../support/db.js';
import { startLogicalSource } from '../support/logical-source.js';
import type { ServerInfo } from '../support/server-info.js';

const { target1 } = servers();
const LEDGER = 'pgcopy';

let server: LocalPostgres;
let source: ServerInfo;
const schema = uniqueName('SyncOnce');
const s = quoteIdent(schema);
const slot = uniqueName('slot').toLowerCase();
const publication = uniqueName('pub');

const mappings: TableMapping[] = [
  {
    sourceSchema: schema,
    sourceTable: 'log',
    targetSchema: schema,
    targetTable: 'log',
    columns: new Map([
      ['id', 'id'],
      ['v', 'v'],
    ]),
  },
];

beforeAll(async () => {
  ({ server, info: source } = await startLogicalSource('sync-once'));
  await sql(
    source,
    `CREATE SCHEMA ${s}; CREATE TABLE ${s}.log (id int PRIMARY KEY, v text);
     CREATE PUBLICATION ${quoteIdent(publication)} FOR TABLE ${s}.log`,
  );
  const made = await sql(
    source,
    `SELECT lsn::text FROM pg_create_logical_replication_slot($1, 'pgoutput')`,
    [slot],
  );
  // No key on the target: a change applied twice shows as a duplicate row.
  await sql(
    target1,
    `CREATE SCHEMA ${s}; CREATE TABLE ${s}.log (id int, v text);
     ${createSyncStateSql(LEDGER, true)};
     ${seedSql(LEDGER, slot, { schema, table: 'log' }, parseLsn((made.rows[0] as { lsn: string }).lsn))}`,
  );
  // 100 small transactions, one of 20,000 rows, 100 more, then 50 with an update and a delete.
  const client = await connect(source);
  try {
    const small = async (from: number): Promise<void> => {
      for (let i = 0; i < 100; i++) {
        const first = from + i * 5;
        await client.query(
          `INSERT INTO ${s}.log SELECT g, 'row ' || g FROM generate_series(${first}, ${first + 4}) g`,
        );
      }
    };
    await small(1);
    await client.query(
      `INSERT INTO ${s}.log SELECT g, 'big ' || g FROM generate_series(1001, 21000) g`,
    );
    await small(30001);
    for (let i = 0; i < 50; i++) {
      await client.query(
        `BEGIN; UPDATE ${s}.log SET v = 'updated ${i}' WHERE id = ${i + 1}; DELETE FROM ${s}.log WHERE id = ${i + 30001}; COMMIT`,
      );
    }
  } finally {
    await client.end();
  }
});

afterAll(async () => {
  await sql(
    target1,
    `DROP SCHEMA IF EXISTS ${s} CASCADE; DELETE FROM ${LEDGER}.sync_state WHERE slot = ${quoteLiteral(slot)}`,
  ).catch(() => undefined);
  await server.stop();
});

async function targetClient(): Promise<pg.Client> {
  const client = await connect(target1);
  client.on('error', () => undefined);
  return client;
}

/** Forwards to the applier; before change number `at`, kills the applier's target connection. */
function killingSink(applier: TargetApplier, at: number, kill: () => Promise<void>): ChangeSink {
  let changes = 0;
  return {
    begin: (t) => applier.begin(t),
    commit: (t) => applier.commit(t),
    change: async (change: Change) => {
      changes += 1;
      if (changes === at) await kill();
      await applier.change(change);
    },
  };
}

async function noDuplicates(): Promise<number> {
  const result = await sql(
    target1,
    `SELECT count(*)::int AS n, count(DISTINCT id)::int AS ids FROM ${s}.log`,
  );
  const row = result.rows[0] as { n: number; ids: number };
  expect(row.n, 'a change applied twice').toBe(row.ids);
  return row.n;
}

describe('sync apply, exactly once', () => {
  it('a target connection killed mid-batch, then a read from the positions in sync_state: no change twice, none lost', async () => {
    const sourceClient = await connect(source);
    const killer = await connect(target1);
    const sent: string[] = [];
    const seen: number[] = [];
    try {
      // Kill moments: among the small transactions, inside the big one (pieces sent, its target
      // transaction open), after it; by pg_terminate_backend and by a destroyed socket.
      const moments: { at: number; how: 'terminate' | 'socket' }[] = [
        { at: 260, how: 'terminate' },
        { at: 9_000, how: 'socket' },
        { at: 15_000, how: 'terminate' },
        { at: 20_700, how: 'socket' },
      ];
      for (const { at, how } of moments) {
        const client = await targetClient();
        const positions = await readPositions(client, LEDGER, slot);
        const applier = new TargetApplier({
          client,
          slot,
          ledgerSchema: LEDGER,
          mappings,
          positions,
          batch: { transactions: 30, bytes: 32 * 1024 },
          onSql: (text) => sent.push(text),
        });
        const pid = (client as unknown as { processID: number }).processID;
        const kill = async (): Promise<void> => {
          if (how === 'socket') client.connection.stream.destroy();
          else await killer.query('SELECT pg_terminate_backend($1)', [pid]);
        };
        // Each read starts from the slot's start again: peeking never consumes.
        await expect(
          readSlot(
            sourceClient,
            { slot, publications: [publication] },
            killingSink(applier, at, kill),
          ),
        ).rejects.toThrow();
        await client.end().catch(() => undefined);
        seen.push(await noDuplicates());
        if (at === 9_000 || at === 15_000) {
          // Killed inside the big transaction: its target transaction had pieces sent, no COMMIT.
          expect(sent.at(-1)).not.toMatch(/COMMIT$/);
        }
      }
      // What an attempt committed stays; the last one got past the big transaction.
      expect(seen).toEqual([...seen].sort((a, b) => a - b));
      expect(seen.at(-1)).toBeGreaterThanOrEqual(20_000);

      const client = await targetClient();
      try {
        const applier = new TargetApplier({
          client,
          slot,
          ledgerSchema: LEDGER,
          mappings,
          positions: await readPositions(client, LEDGER, slot),
        });
        await readSlot(sourceClient, { slot, publications: [publication] }, applier);
        await applier.finish();
      } finally {
        await client.end();
      }
      await noDuplicates();
      const [expected, actual] = await Promise.all([
        tableDigest(source, `SELECT id, v FROM ${s}.log`),
        tableDigest(target1, `SELECT id, v FROM ${s}.log`),
      ]);
      expect(actual).toEqual(expected);
      // The source connection served every read after the stopped ones.
      expect((await sourceClient.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await Promise.all([sourceClient.end(), killer.end()]);
    }
  });
});

describe('readSlot', () => {
  const counting = (): ChangeSink & { changes: number; commits: number } => {
    const sink = {
      changes: 0,
      commits: 0,
      begin: () => Promise.resolve(),
      change: () => {
        sink.changes += 1;
        return Promise.resolve();
      },
      commit: () => {
        sink.commits += 1;
        return Promise.resolve();
      },
    };
    return sink;
  };

  it('stops at the end of the transaction it is in when the signal aborts, and the connection stays usable', async () => {
    const sourceClient = await connect(source);
    try {
      const controller = new AbortController();
      const sink = counting();
      const stopping: ChangeSink = {
        begin: (t) => sink.begin(t),
        commit: (t) => sink.commit(t),
        change: (c) => {
          // Aborted inside the big transaction (after the 100 small ones): it is finished first.
          if (sink.changes === 1_000) controller.abort(new Error('stop'));
          return sink.change(c);
        },
      };
      const read = await readSlot(
        sourceClient,
        { slot, publications: [publication], signal: controller.signal },
        stopping,
      );
      expect(read).toMatchObject({ stopped: true, transactions: 101 });
      expect(sink.changes).toBe(500 + 20_000);
      expect((await sourceClient.query('SELECT 2 AS two')).rows).toEqual([{ two: 2 }]);
      await expect(
        readSlot(
          sourceClient,
          { slot, publications: [publication], signal: controller.signal },
          sink,
        ),
      ).rejects.toThrow('stop');
    } finally {
      await sourceClient.end();
    }
  });

  it('a slot that does not exist: a SyncError with the SQLSTATE, the connection usable', async () => {
    const sourceClient = await connect(source);
    try {
      const read = readSlot(
        sourceClient,
        { slot: 'no_such_slot', publications: [publication] },
        counting(),
      );
      await expect(read).rejects.toThrow(SyncError);
      await expect(read).rejects.toMatchObject({ sqlstate: '42704' });
      expect((await sourceClient.query('SELECT 3 AS three')).rows).toEqual([{ three: 3 }]);
      await expect(advanceSlot(sourceClient, 'no_such_slot', 1n)).rejects.toThrow(/does not exist/);
    } finally {
      await sourceClient.end();
    }
  });

  it('reads whole transactions up to about maxChanges, or up to an LSN', async () => {
    const sourceClient = await connect(source);
    try {
      const few = counting();
      const first = await readSlot(
        sourceClient,
        { slot, publications: [publication], maxChanges: 12 },
        few,
      );
      // Whole transactions of 5 rows (7 messages): the read stops at the first commit past 12.
      expect(few.changes).toBe(10);
      expect(first.transactions).toBe(2);
      const upto = counting();
      const second = await readSlot(
        sourceClient,
        { slot, publications: [publication], upto: first.lastEndLsn as bigint },
        upto,
      );
      expect(second).toMatchObject({
        transactions: first.transactions,
        lastEndLsn: first.lastEndLsn,
      });
    } finally {
      await sourceClient.end();
    }
  });
});
