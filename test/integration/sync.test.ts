import { describe, expect, it } from 'vitest';
import { SyncError } from '../../src/errors.js';
import { PgcopyFunction } from '../../src/lambda/handler.js';
import type { SyncResult } from '../../src/lambda/sync-result.js';
import { sync } from '../../src/sync/sync.js';
import { dropSync, syncStatus } from '../../src/sync/sync-status.js';
import { cli, workDir } from '../support/cli.js';
import { connect, servers, sql, tableDigest, uniqueName } from '../support/db.js';
import { fakeContext, recordingLog } from '../support/lambda.js';
import type { ServerInfo } from '../support/server-info.js';
import { useLogicalSource } from '../support/sync-source.js';
import {
  SOURCE_TABLES,
  createTargets,
  projections,
  syncConfig,
  writeMany,
  writeUntilStopped,
} from '../support/sync-workload.js';

// pgcopy sync against a source of its own with wal_level = logical, into the suite's two targets
// (different column subsets, a rename): the first copy in the slot's snapshot while the source is
// written, catch-ups, a table added later, the plan's refusal of a table without a replica
// identity, insert-only, --status, --drop and the Lambda's bounded catch-up.
const s = servers();
const targets = { db_1: s.target1, db_2: s.target2 };
let source: ServerInfo;
const schemas = useLogicalSource('sync-source', (started) => {
  source = started;
});

async function fresh(prefix: string): Promise<{ schema: string; q: string }> {
  const schema = uniqueName(prefix);
  const q = `"${schema}"`;
  schemas.push(schema);
  await sql(source, SOURCE_TABLES(q));
  await createTargets(targets, q);
  return { schema, q };
}

async function expectEqual(q: string): Promise<void> {
  for (const p of await projections(source, targets, q)) {
    expect(p.target, p.name).toEqual(p.source);
  }
}

async function slotsAndPublications(slot: string): Promise<{ slots: number; pubs: number }> {
  const { rows } = await sql(
    source,
    `SELECT (SELECT count(*)::int FROM pg_replication_slots WHERE slot_name = $1) AS slots,
            (SELECT count(*)::int FROM pg_publication WHERE pubname LIKE $1 || '%') AS pubs`,
    [slot],
  );
  return rows[0] as { slots: number; pubs: number };
}

describe('pgcopy sync: first copy, catch-ups, two targets', () => {
  it('after a first sync under a write workload and a catch-up with --until now, every target table equals the source projection', async () => {
    const { schema, q } = await fresh('Sync_Life');
    const { config } = syncConfig(source, targets, schema, { sync: { slot: 'sync_life' } });
    const writer = writeUntilStopped(source, q, 0);
    const first = await sync(config);
    expect(first.report.slotCreated).toBe(true);
    expect(first.report.copies).toHaveLength(1);
    // (done with warnings: the columns a target leaves out)
    expect(first.report.copies[0]?.tables.map((t) => t.status.replace('warnings', 'done'))).toEqual(
      Array(6).fill('done'),
    );
    const written = await writer.stop();
    expect(written).toBeGreaterThan(0);
    // Every pair's ledger row holds the slot position its rows correspond to.
    const { rows } = await sql(
      s.target1,
      `SELECT count(*)::int AS n FROM pgcopy.ledger WHERE source_lsn IS NOT NULL AND target_schema = $1`,
      [schema],
    );
    expect((rows[0] as { n: number }).n).toBe(3);
    const caught = await sync(config, { until: 'now' });
    expect(caught.report.slotCreated).toBe(false);
    expect(caught.report.copies).toEqual([]);
    await expectEqual(q);
    // Between syncs: more writes, then another catch-up.
    await writeMany(source, q, 50_000, 150);
    const again = await sync(config);
    const applied = again.report.targets.map((t) => t.applied);
    for (const a of applied) {
      expect(a.inserts).toBeGreaterThan(0);
      expect(a.updates).toBeGreaterThan(0);
      expect(a.deletes).toBeGreaterThan(0);
      expect(a.truncates).toBeGreaterThan(0);
    }
    await expectEqual(q);
    // Nothing new: a sync applies nothing, and the slot has moved up to what the targets hold.
    const idle = await sync(config);
    expect(idle.report.targets.map((t) => t.applied.transactions)).toEqual([0, 0]);
    const status = await syncStatus(config);
    expect(status.exists).toBe(true);
    expect(status.targets.map((t) => t.tables)).toEqual([3, 3]);
    expect(status.targets.every((t) => t.position !== null)).toBe(true);
    // --drop leaves no slot and no publication.
    const dropped = await dropSync(config);
    expect(dropped.slotDropped).toBe(true);
    expect(dropped.publicationsDropped).toHaveLength(2);
    expect(await slotsAndPublications('sync_life')).toEqual({ slots: 0, pubs: 0 });
  }, 90_000);

  it('a table added to the config later is copied in a new snapshot, then followed', async () => {
    const { schema, q } = await fresh('Sync_Late');
    await sql(
      source,
      `CREATE TABLE ${q}.late (id int PRIMARY KEY, v text);
       INSERT INTO ${q}.late SELECT g, 'v' || g FROM generate_series(1, 500) g;`,
    );
    await sql(s.target1, `CREATE TABLE ${q}.late (id int PRIMARY KEY, v text)`);
    const options = { sync: { slot: 'sync_late' } };
    const before = syncConfig(source, targets, schema, options);
    await sync(before.config);
    await sql(source, `UPDATE ${q}.late SET v = v || '!' WHERE id % 3 = 0`);
    await writeMany(source, q, 0, 20);
    const tables = {
      db_1: [...((before.raw['targets'] as { tables: unknown[] }[])[0]?.tables ?? []), 'late'],
      db_2: (before.raw['targets'] as { tables: unknown[] }[])[1]?.tables ?? [],
    };
    const after = syncConfig(source, targets, schema, options, tables);
    const writer = writeUntilStopped(source, q, 1000);
    const late = (async () => {
      for (let i = 0; i < 50; i += 1) {
        await sql(source, `UPDATE ${q}.late SET v = v || '.' WHERE id = ${(i * 7) % 500}`);
      }
    })();
    const added = await sync(after.config);
    await late;
    await writer.stop();
    expect(added.report.copies).toHaveLength(1);
    expect(added.report.copies[0]?.tables.map((t) => `${t.target}.${t.table}`)).toEqual([
      'db_1.late',
    ]);
    await sql(source, `DELETE FROM ${q}.late WHERE id < 10`);
    await sync(after.config, { until: 'now' });
    await expectEqual(q);
    expect(await tableDigest(s.target1, `SELECT * FROM ${q}.late`)).toEqual(
      await tableDigest(source, `SELECT * FROM ${q}.late`),
    );
    await dropSync(after.config);
  }, 90_000);
});

describe('pgcopy sync never breaks the source', () => {
  it('refuses a table without a key or replica identity, and the source keeps taking its UPDATEs', async () => {
    const { schema, q } = await fresh('Sync_Nokey');
    await sql(
      source,
      `CREATE TABLE ${q}.nokey (a int, b text); INSERT INTO ${q}.nokey VALUES (1, 'one'), (2, 'two');`,
    );
    await sql(s.target1, `CREATE TABLE ${q}.nokey (a int, b text)`);
    const tables = { db_1: ['accounts', 'nokey'], db_2: ['accounts'] };
    const options = { sync: { slot: 'sync_nokey' } };
    const refused = syncConfig(source, targets, schema, options, tables);
    const error = await sync(refused.config).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SyncError);
    expect((error as Error).message).toMatch(/nokey/);
    expect((error as Error).message).toMatch(/REPLICA IDENTITY FULL/);
    await sql(
      source,
      `UPDATE ${q}.nokey SET b = 'changed' WHERE a = 1; DELETE FROM ${q}.nokey WHERE a = 2`,
    );
    expect(await slotsAndPublications('sync_nokey')).toEqual({ slots: 0, pubs: 0 });
    // A where filter holds for a copy only: refused for sync.
    const filtered = syncConfig(source, targets, schema, options, {
      db_1: [{ name: 'accounts', where: 'id > 10' }],
      db_2: ['accounts'],
    });
    await expect(sync(filtered.config)).rejects.toThrow(/where filters only a copy/);
    // Data rules keep a value on the source only in a copy's SELECT; a catch-up reads the real
    // values from the slot: refused for sync, naming the masked column.
    const masked = syncConfig(
      source,
      targets,
      schema,
      { ...options, dataRules: { 'accounts.balance': { value: 0 } } },
      { db_1: ['accounts'], db_2: ['accounts'] },
    );
    await expect(sync(masked.config)).rejects.toThrow(/data rules mask balance of .*accounts/);
    // `pgcopy plan` of a config with options.sync says the same.
    const work = await workDir(refused.raw);
    try {
      const plan = await cli(['plan', '-c', work.file], { cwd: work.dir });
      expect(plan.code).toBe(1);
      expect(plan.stdout).toMatch(/REPLICA IDENTITY FULL/);
    } finally {
      await work.cleanup();
    }

    // insertOnly: followed through the inserts-and-truncates publication; UPDATE keeps working.
    const insertOnly = syncConfig(
      source,
      targets,
      schema,
      { sync: { slot: 'sync_nokey', insertOnly: ['nokey'] } },
      tables,
    );
    await sync(insertOnly.config);
    await sql(
      source,
      `INSERT INTO ${q}.nokey VALUES (3, 'three'); UPDATE ${q}.nokey SET b = 'again' WHERE a = 1;
       DELETE FROM ${q}.nokey WHERE a = 3; INSERT INTO ${q}.nokey VALUES (4, 'four');`,
    );
    const { rows: pub } = await sql(
      source,
      `SELECT pubupdate, pubdelete FROM pg_publication WHERE pubname = 'sync_nokey_insert_only'`,
    );
    expect(pub).toEqual([{ pubupdate: false, pubdelete: false }]);
    await sync(insertOnly.config);
    const { rows } = await sql(s.target1, `SELECT a, b FROM ${q}.nokey ORDER BY a`);
    expect(rows).toEqual([
      { a: 1, b: 'changed' },
      { a: 3, b: 'three' },
      { a: 4, b: 'four' },
    ]);
    await dropSync(insertOnly.config);
    expect(await slotsAndPublications('sync_nokey')).toEqual({ slots: 0, pubs: 0 });
  }, 90_000);
});

describe('pgcopy sync without a ledger', () => {
  it('is refused before anything is made on the source (positions come from the ledger)', async () => {
    const { schema } = await fresh('Sync_No_Ledger');
    const { config } = syncConfig(source, targets, schema, {
      ledger: false,
      sync: { slot: 'sync_no_ledger' },
    });
    await expect(sync(config)).rejects.toThrow(/options\.ledger is false/);
    expect(await slotsAndPublications('sync_no_ledger')).toEqual({ slots: 0, pubs: 0 });
  });
});

describe('two syncs of one slot at once', () => {
  it('the second is refused while the first runs', async () => {
    const { schema } = await fresh('Sync_Twice');
    const { config } = syncConfig(source, targets, schema, { sync: { slot: 'sync_twice' } });
    // What a running sync holds on the source for its whole run.
    const holder = await connect(source);
    try {
      await holder.query('SELECT pg_advisory_lock(hashtext($1))', ['pgcopy sync sync_twice']);
      await expect(sync(config)).rejects.toThrow(
        /another pgcopy sync of slot sync_twice is running/,
      );
    } finally {
      await holder.end();
    }
    expect(await slotsAndPublications('sync_twice')).toEqual({ slots: 0, pubs: 0 });
  });
});

describe('Lambda { "sync": true }', () => {
  it('stops a margin before the time limit with what it applied committed; the next invocation finishes', async () => {
    const { schema, q } = await fresh('Sync_Lambda');
    const { raw, config } = syncConfig(source, targets, schema, { sync: { slot: 'sync_lambda' } });
    const log = recordingLog();
    const fn = new PgcopyFunction({
      env: { PGCOPY_CONFIG: JSON.stringify(raw), PGCOPY_TIMEOUT_MARGIN_MS: '2000' },
      logger: log,
    });
    const first = (await fn.invoke({ sync: true }, fakeContext())) as SyncResult;
    expect(first).toMatchObject({ sync: true, slot: 'sync_lambda', slotCreated: true, copied: 6 });
    // Many small source transactions (one COMMIT each), and a target that takes 1 ms per update:
    // more than the second and a half the invocation has.
    await sql(
      source,
      `CREATE PROCEDURE ${q}.many(n int) LANGUAGE plpgsql AS $$
       BEGIN
         FOR i IN 1..n LOOP
           UPDATE ${q}.accounts SET balance = balance + 1 WHERE id = 1 + (i % 1000);
           COMMIT;
         END LOOP;
       END $$`,
    );
    await sql(source, `CALL ${q}.many(5000)`);
    await sql(
      s.target1,
      `CREATE FUNCTION ${q}.slow_row() RETURNS trigger LANGUAGE plpgsql
         AS $$ BEGIN PERFORM pg_catalog.pg_sleep(0.001); RETURN NEW; END $$;
       CREATE TRIGGER slow_row BEFORE UPDATE ON ${q}.accounts
         FOR EACH ROW EXECUTE FUNCTION ${q}.slow_row();`,
    );
    await writeMany(source, q, 0, 20);
    const started = Date.now();
    // Stops 2 s before a 3.5 s limit, i.e. after 1.5 s, and is done before the limit.
    const bounded = (await fn.invoke({ sync: true }, fakeContext(3500))) as SyncResult;
    expect(Date.now() - started).toBeLessThan(3500);
    expect(bounded.stopped).toBe(true);
    const lines = log.entries.filter((e) => e.attributes['event'] === 'sync-target');
    expect(lines.length).toBeGreaterThanOrEqual(2);
    const rest = (await fn.invoke({ sync: true }, fakeContext())) as SyncResult;
    expect(rest.stopped).toBe(false);
    await expectEqual(q);
    await dropSync(config);
  }, 90_000);
});
