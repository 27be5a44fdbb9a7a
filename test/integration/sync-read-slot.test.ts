import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalPostgres } from '../../src/demo/local-postgres.js';
import { quoteIdent } from '../../src/db/quote.js';
import { SyncError } from '../../src/errors.js';
import { formatLsn, minLsn, parseLsn } from '../../src/sync/lsn.js';
import { advanceSlot, peekSql, readSlot } from '../../src/sync/read-slot.js';
import type { ChangeSink } from '../../src/sync/types.js';
import { connect, sql, uniqueName } from '../support/db.js';
import type { ServerInfo } from '../support/server-info.js';
import { startLogicalSource } from '../support/sync-source.js';

// readSlot's ways of ending against a real logical slot: a publication that does not exist, a sink
// that fails inside a transaction, a stop between transactions and before the read; and
// advanceSlot on a slot without a confirmed position (physical) and backwards.
let server: LocalPostgres;
let source: ServerInfo;
const schema = uniqueName('SyncRead');
const s = quoteIdent(schema);
const slot = uniqueName('read_slot').toLowerCase();
const publication = uniqueName('read_pub');

beforeAll(async () => {
  ({ server, info: source } = await startLogicalSource('sync-read-slot'));
  await sql(
    source,
    `CREATE SCHEMA ${s}; CREATE TABLE ${s}.log (id int PRIMARY KEY, v text);
     CREATE PUBLICATION ${quoteIdent(publication)} FOR TABLE ${s}.log`,
  );
  await sql(source, `SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
  // Three small transactions of 2 rows, then one of 20,000.
  for (const from of [1, 3, 5]) {
    await sql(
      source,
      `INSERT INTO ${s}.log SELECT g, 'v' FROM generate_series(${from}, ${from + 1}) g`,
    );
  }
  // The servers run with synchronous_commit = off, and a peek reads up to the flushed WAL only:
  // this commit waits for its flush, so that every read below sees all four.
  await sql(
    source,
    `SET synchronous_commit = on;
     INSERT INTO ${s}.log SELECT g, 'big' FROM generate_series(100, 20099) g`,
  );
}, 60_000);

afterAll(async () => {
  await server.stop();
});

interface Counting extends ChangeSink {
  begins: number;
  changes: number;
  commits: number;
}

function counting(hooks: { change?: (n: number) => void; commit?: (n: number) => void } = {}) {
  const sink: Counting = {
    begins: 0,
    changes: 0,
    commits: 0,
    begin: () => {
      sink.begins += 1;
      return Promise.resolve();
    },
    change: () => {
      sink.changes += 1;
      hooks.change?.(sink.changes);
      return Promise.resolve();
    },
    commit: () => {
      sink.commits += 1;
      hooks.commit?.(sink.commits);
      return Promise.resolve();
    },
  };
  return sink;
}

describe('readSlot', () => {
  it('a publication that does not exist: a SyncError naming the slot, the connection usable', async () => {
    const client = await connect(source);
    try {
      const read = readSlot(client, { slot, publications: ['no_such_publication'] }, counting());
      await expect(read).rejects.toThrow(SyncError);
      await expect(read).rejects.toThrow(`reading slot ${slot}: `);
      await expect(read).rejects.toThrow(/no_such_publication/);
      await expect(read).rejects.toMatchObject({ sqlstate: '42704' });
      expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await client.end();
    }
  });

  it('a sink that fails inside the big transaction: its error, nothing more given, the connection usable', async () => {
    const client = await connect(source);
    try {
      const failure = new Error('the sink failed');
      const sink = counting({
        change: (n) => {
          if (n === 6 + 10) throw failure;
        },
      });
      await expect(readSlot(client, { slot, publications: [publication] }, sink)).rejects.toBe(
        failure,
      );
      // The three small transactions, the big one begun: no change after the failing one.
      expect([sink.begins, sink.changes, sink.commits]).toEqual([4, 16, 3]);
      expect((await client.query('SELECT 2 AS two')).rows).toEqual([{ two: 2 }]);
      // Peeking moved nothing: a read after it sees everything.
      const all = counting();
      const read = await readSlot(client, { slot, publications: [publication] }, all);
      expect([read.transactions, all.changes, read.stopped]).toEqual([4, 20_006, false]);
    } finally {
      await client.end();
    }
  });

  it('a stop between transactions ends the read at the commit; one before the read refuses it', async () => {
    const client = await connect(source);
    try {
      const controller = new AbortController();
      const sink = counting({
        commit: (n) => {
          if (n === 2) controller.abort(new Error('stop here'));
        },
      });
      const read = await readSlot(
        client,
        { slot, publications: [publication], signal: controller.signal },
        sink,
      );
      expect(read).toMatchObject({ transactions: 2, stopped: true });
      expect([sink.begins, sink.changes, sink.commits]).toEqual([2, 4, 2]);
      expect((await client.query('SELECT 3 AS three')).rows).toEqual([{ three: 3 }]);
      // The position of the second commit: reading up to it gives the same two transactions.
      const again = counting();
      const upto = await readSlot(
        client,
        { slot, publications: [publication], upto: read.lastEndLsn as bigint },
        again,
      );
      expect(upto).toEqual({ transactions: 2, lastEndLsn: read.lastEndLsn, stopped: false });
      await expect(
        readSlot(client, { slot, publications: [publication], signal: controller.signal }, again),
      ).rejects.toThrow('stop here');
      expect(again.commits).toBe(2);
    } finally {
      await client.end();
    }
  });

  it('a sink that fails early in a 200,000-row transaction: the rest is drained, its error stands', async () => {
    await sql(
      source,
      `SET synchronous_commit = on;
       INSERT INTO ${s}.log SELECT g, repeat('w', 400) FROM generate_series(100000, 299999) g`,
    );
    const client = await connect(source);
    try {
      const failure = new Error('the sink failed early');
      const sink = counting({
        change: (n) => {
          if (n === 20_006 + 1) throw failure;
        },
      });
      const started = Date.now();
      await expect(readSlot(client, { slot, publications: [publication] }, sink)).rejects.toBe(
        failure,
      );
      expect([sink.begins, sink.changes, sink.commits]).toEqual([5, 20_007, 4]);
      expect(Date.now() - started).toBeLessThan(20_000);
      // A cancel sent for the read (after a drain of 250 ms) must not hit the statements after it.
      expect((await client.query('SELECT 4 AS four')).rows).toEqual([{ four: 4 }]);
      await new Promise((done) => setTimeout(done, 300));
      expect((await client.query('SELECT 5 AS five')).rows).toEqual([{ five: 5 }]);
    } finally {
      await client.end();
    }
  }, 30_000);

  it('maxChanges is at least 1 and whole; upto is written as a pg_lsn', () => {
    expect(peekSql({ slot: 's', publications: ['a', 'B c'], maxChanges: 0.4 })).toContain(
      `'s', NULL, 1, 'proto_version', '1', 'publication_names', '"a","B c"'`,
    );
    expect(peekSql({ slot: 's', publications: ['a'], upto: 0x1_0000_00ffn })).toContain(
      `'s', '1/FF'::pg_lsn, NULL,`,
    );
  });
});

describe('advanceSlot', () => {
  it('never moves a slot backwards; a slot without a confirmed position (physical) is moved', async () => {
    const client = await connect(source);
    const physical = uniqueName('physical').toLowerCase();
    try {
      const { rows } = await client.query<{ lsn: string }>(
        'SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1',
        [slot],
      );
      const confirmed = parseLsn(rows[0]?.lsn ?? '');
      expect(await advanceSlot(client, slot, confirmed - 1n)).toBe(confirmed);
      expect(await advanceSlot(client, slot, confirmed)).toBe(confirmed);

      await client.query('SELECT pg_create_physical_replication_slot($1, true)', [physical]);
      const now = await client.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
      const target = parseLsn(now.rows[0]?.lsn ?? '');
      const moved = await advanceSlot(client, physical, target);
      expect(formatLsn(moved)).toBe(formatLsn(target));
      const { rows: after } = await client.query<{ lsn: string }>(
        'SELECT restart_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1',
        [physical],
      );
      expect(after[0]?.lsn).toBe(formatLsn(target));
    } finally {
      await client.query('SELECT pg_drop_replication_slot($1)', [physical]).catch(() => undefined);
      await client.end();
    }
  });
});

describe('WAL positions', () => {
  it('the lower of two, whichever comes first', () => {
    expect(minLsn(1n, 2n)).toBe(1n);
    expect(minLsn(2n, 1n)).toBe(1n);
    expect(minLsn(undefined, undefined)).toBeUndefined();
    expect(parseLsn(' 1/ff ')).toBe(0x1_0000_00ffn);
  });
});
