import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalPostgres } from '../src/demo/local-postgres.js';
import { quoteIdent, quoteLiteral } from '../src/db/quote.js';
import { parseLsn } from '../src/sync/lsn.js';
import { readSlot } from '../src/sync/read-slot.js';
import { createSyncStateSql, readPositions, seedSql } from '../src/sync/sync-state.js';
import { TargetApplier } from '../src/sync/target-applier.js';
import type { TableMapping } from '../src/sync/types.js';
import { servers, sqlIn, tableDigest } from '../test/support/db.js';
import { startLogicalSource } from '../test/support/logical-source.js';
import type { ServerInfo } from '../test/support/server-info.js';
import { Results } from './results.js';

/**
 * A sync's catch-up against PostgreSQL's own logical replication: the same small source
 * transactions (a third inserts, a third updates, a third deletes) applied by TargetApplier, read
 * through pg_logical_slot_peek_binary_changes, into one database of the target, and by a
 * subscription (CREATE SUBSCRIPTION, its slot made before the workload, enabled when timed) into
 * another database of the same server. Each method's time runs from its start until the target
 * holds the last transaction; both targets are then compared with the source by content.
 */
const QUICK = process.env.PGCOPY_BENCH_QUICK === '1';
const TRANSACTIONS = Number(
  process.env.PGCOPY_BENCH_SYNC_TRANSACTIONS ?? (QUICK ? 2_000 : 100_000),
);
const ROUNDS = Number(process.env.PGCOPY_BENCH_ROUNDS ?? 3);
const INITIAL_ROWS = TRANSACTIONS;
const SECTION = 'sync catch-up';
const SUBSCRIPTION = 'CREATE SUBSCRIPTION';
const APPLIER = 'pgcopy sync (TargetApplier)';
/** The slot read alone, into a sink that applies nothing: what the source side costs. */
const READ_ONLY = 'slot read only (no target)';
const LEDGER = 'pgcopy';
const TABLE = 'acct';

const { target1 } = servers();
let server: LocalPostgres;
let source: ServerInfo;

beforeAll(async () => {
  ({ server, info: source } = await startLogicalSource('bench-sync'));
  await sqlIn(
    source,
    'postgres',
    `CREATE TABLE public.${TABLE} (id int PRIMARY KEY, balance int NOT NULL, note text);
     CREATE PROCEDURE public.workload(n int) LANGUAGE plpgsql AS $$
     BEGIN
       FOR i IN 1..n LOOP
         IF i % 3 = 0 THEN UPDATE public.${TABLE} SET balance = balance + i WHERE id = i;
         ELSIF i % 3 = 1 THEN INSERT INTO public.${TABLE} VALUES (1000000 + i, i, 'new ' || i);
         ELSE DELETE FROM public.${TABLE} WHERE id = i;
         END IF;
         COMMIT;
       END LOOP;
       INSERT INTO public.${TABLE} VALUES (-1, 0, 'the last transaction');
       COMMIT;
     END $$`,
  );
}, 120_000);

afterAll(async () => {
  await server.stop();
});

const initialRows = `INSERT INTO public.${TABLE} SELECT g, g, 'row ' || g FROM generate_series(1, ${INITIAL_ROWS}) g`;

async function freshDatabase(name: string): Promise<void> {
  await sqlIn(target1, 'postgres', `DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
  await sqlIn(target1, 'postgres', `CREATE DATABASE ${quoteIdent(name)}`);
  await sqlIn(
    target1,
    name,
    `CREATE TABLE public.${TABLE} (id int PRIMARY KEY, balance int NOT NULL, note text); ${initialRows}`,
  );
  await sqlIn(target1, name, `VACUUM ANALYZE public.${TABLE}`);
}

async function seconds(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return (performance.now() - started) / 1000;
}

/** One round: a fresh source table and targets, the workload, then both methods in `order`. */
async function round(results: Results, index: number): Promise<void> {
  const slot = `bench_sync_${index}`;
  const subscription = `bench_sub_${index}`;
  const [applierDb, subscriberDb] = [`bench_sync_pgcopy_${index}`, `bench_sync_sub_${index}`];
  await sqlIn(
    source,
    'postgres',
    `DROP PUBLICATION IF EXISTS bench_pub; TRUNCATE public.${TABLE}; ${initialRows};
     CREATE PUBLICATION bench_pub FOR TABLE public.${TABLE}`,
  );
  await Promise.all([freshDatabase(applierDb), freshDatabase(subscriberDb)]);
  const made = await sqlIn(
    source,
    'postgres',
    `SELECT lsn::text FROM pg_create_logical_replication_slot($1, 'pgoutput')`,
    [slot],
  );
  const start = parseLsn((made.rows[0] as { lsn: string }).lsn);
  await sqlIn(
    target1,
    applierDb,
    `${createSyncStateSql(LEDGER, true)}; ${seedSql(LEDGER, slot, { schema: 'public', table: TABLE }, start)}`,
  );
  const conninfo = `host=${source.host} port=${source.port} user=${source.user} password=${source.password} dbname=postgres`;
  await sqlIn(
    target1,
    subscriberDb,
    `CREATE SUBSCRIPTION ${subscription} CONNECTION ${quoteLiteral(conninfo)} PUBLICATION bench_pub
     WITH (copy_data = false, enabled = false)`,
  );
  try {
    // CALL alone in its query: a procedure that commits cannot run in a multi-statement one.
    await sqlIn(source, 'postgres', `CALL public.workload(${TRANSACTIONS})`);
    await sqlIn(source, 'postgres', 'CHECKPOINT');
    await sqlIn(target1, 'postgres', 'CHECKPOINT');

    const byApplier = async (): Promise<void> => {
      const cpu = process.cpuUsage();
      const taken = await seconds(async () => {
        const sourceClient = new pg.Client({ ...source, database: 'postgres' });
        const targetClient = new pg.Client({ ...target1, database: applierDb });
        await Promise.all([sourceClient.connect(), targetClient.connect()]);
        try {
          const mappings: TableMapping[] = [
            {
              sourceSchema: 'public',
              sourceTable: TABLE,
              targetSchema: 'public',
              targetTable: TABLE,
              columns: new Map(['id', 'balance', 'note'].map((c) => [c, c])),
            },
          ];
          const applier = new TargetApplier({
            client: targetClient,
            slot,
            ledgerSchema: LEDGER,
            mappings,
            positions: await readPositions(targetClient, LEDGER, slot),
          });
          await readSlot(sourceClient, { slot, publications: ['bench_pub'] }, applier);
          await applier.finish();
        } finally {
          await Promise.all([sourceClient.end(), targetClient.end()]);
        }
      });
      const used = process.cpuUsage(cpu);
      results.record(SECTION, APPLIER, {
        seconds: taken,
        cpuSeconds: (used.user + used.system) / 1e6,
      });
    };

    const bySubscription = async (): Promise<void> => {
      const client = new pg.Client({ ...target1, database: subscriberDb });
      await client.connect();
      try {
        const taken = await seconds(async () => {
          await client.query(`ALTER SUBSCRIPTION ${subscription} ENABLE`);
          // Applied in commit order: the last transaction's row says every one before it is in.
          for (;;) {
            const { rows } = await client.query<{ done: boolean }>(
              `SELECT EXISTS (SELECT FROM public.${TABLE} WHERE id = -1) AS done`,
            );
            if (rows[0]?.done === true) break;
            await new Promise((resolve) => setTimeout(resolve, 5));
          }
        });
        results.record(SECTION, SUBSCRIPTION, { seconds: taken, cpuSeconds: 0 });
      } finally {
        await client.end();
      }
    };

    const readOnly = async (): Promise<void> => {
      const sourceClient = new pg.Client({ ...source, database: 'postgres' });
      await sourceClient.connect();
      try {
        const none = () => Promise.resolve();
        const sink = { begin: none, change: none, commit: none };
        const taken = await seconds(() =>
          readSlot(sourceClient, { slot, publications: ['bench_pub'] }, sink),
        );
        results.record(SECTION, READ_ONLY, { seconds: taken, cpuSeconds: 0 });
      } finally {
        await sourceClient.end();
      }
    };

    // Peeking never consumes: the read alone goes first, the slot then holds the same changes.
    await readOnly();
    const methods = index % 2 === 0 ? [byApplier, bySubscription] : [bySubscription, byApplier];
    for (const method of methods) await method();

    const expected = await tableDigest(source, `SELECT * FROM public.${TABLE}`);
    for (const [name, db] of [
      [APPLIER, applierDb],
      [SUBSCRIPTION, subscriberDb],
    ] as const) {
      const client = new pg.Client({ ...target1, database: db });
      await client.connect();
      try {
        const { rows } = await client.query<{ count: number; md5: string }>(
          `SELECT count(*)::int AS count, coalesce(md5(string_agg(r::text, E'\\n' ORDER BY r::text)), '') AS md5 FROM (SELECT * FROM public.${TABLE}) r`,
        );
        results.check(name, rows[0]?.count === expected.count && rows[0].md5 === expected.md5);
      } finally {
        await client.end();
      }
    }
  } finally {
    await sqlIn(target1, subscriberDb, `DROP SUBSCRIPTION IF EXISTS ${subscription}`).catch(
      () => undefined,
    );
    await sqlIn(source, 'postgres', 'SELECT pg_drop_replication_slot($1)', [slot]).catch(
      () => undefined,
    );
    for (const db of [applierDb, subscriberDb]) {
      await sqlIn(target1, 'postgres', `DROP DATABASE IF EXISTS ${quoteIdent(db)} WITH (FORCE)`);
    }
  }
}

describe('sync catch-up', () => {
  it(`applies ${TRANSACTIONS.toLocaleString('en-US')} source transactions as fast as CREATE SUBSCRIPTION does`, async () => {
    const results = new Results({ [SECTION]: SUBSCRIPTION });
    const rounds = QUICK ? 1 : ROUNDS;
    for (let i = 0; i < rounds; i++) await round(results, i);
    process.stdout.write(
      `\n${SECTION}: ${TRANSACTIONS.toLocaleString('en-US')} small transactions, ${rounds} round(s), methods alternating, medians\n` +
        `${results.table()}\n` +
        `${results
          .goals([
            {
              text: 'TargetApplier vs CREATE SUBSCRIPTION',
              method: APPLIER,
              versus: SUBSCRIPTION,
              atMost: 1.5,
            },
          ])
          .join('\n')}\n`,
    );
    for (const row of results.rows()) {
      if (row.method !== READ_ONLY) expect(row.checked, row.method).toBe(true);
    }
  });
});
