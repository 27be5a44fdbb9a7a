import { describe, expect, it } from 'vitest';
import { checkSyncNeeds } from '../../src/check/sync-needs.js';
import { syncNames } from '../../src/sync/names.js';
import { ensurePublications } from '../../src/sync/publication.js';
import { syncStatus } from '../../src/sync/sync-status.js';
import { cli, workDir } from '../support/cli.js';
import { connect, servers, sql, uniqueName } from '../support/db.js';
import type { ServerInfo } from '../support/server-info.js';
import { useLogicalSource } from '../support/sync-source.js';
import {
  SOURCE_TABLES,
  createTargets,
  projections,
  syncConfig,
  writeMany,
} from '../support/sync-workload.js';

// pgcopy sync through runCli in this process (so that its branches are measured): --status before
// and after a first sync, --json, --until with a position and with now, the usage errors, a config
// without the ledger, --drop twice, a target that cannot be reached; then check's report of what
// sync needs for a role without rights, and the publications following the config.
const s = servers();
const targets = { db_1: s.target1, db_2: s.target2 };
let source: ServerInfo;
const schemas = useLogicalSource('sync-in-process', (started) => {
  source = started;
});

async function prepared(prefix: string, options: Record<string, unknown>) {
  const schema = uniqueName(prefix);
  const q = `"${schema}"`;
  schemas.push(schema);
  await sql(source, SOURCE_TABLES(q));
  await createTargets(targets, q);
  const made = syncConfig(source, targets, schema, options);
  return { schema, q, ...made };
}

/** The last line of stdout as JSON (--json prints one object). */
function json(stdout: string): Record<string, unknown> {
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
}

async function currentLsn(): Promise<string> {
  const { rows } = await sql(source, 'SELECT pg_current_wal_insert_lsn()::text AS lsn');
  return (rows[0] as { lsn: string }).lsn;
}

describe('pgcopy sync, in-process', () => {
  it('--status before and after, --json, --until a position and now, --drop twice', async () => {
    const { q, raw } = await prepared('Sync_InProc', { sync: { slot: 'sync_inproc' } });
    const work = await workDir(raw);
    const run = (...args: string[]) => cli(['sync', '-c', work.file, ...args], { cwd: work.dir });
    try {
      const before = await run('--status');
      expect(before.code, before.stderr).toBe(0);
      expect(before.stdout).toContain(
        'Slot sync_inproc: does not exist (the first pgcopy sync creates it)',
      );
      expect(before.stdout).toContain('Publications: none');
      expect(before.stdout).toMatch(/ {2}db_1: not followed yet\n {2}db_2: not followed yet/);
      expect(json((await run('--status', '--json')).stdout)).toMatchObject({
        exists: false,
        active: false,
        confirmedFlush: null,
        heldBytes: 0,
        lagBytes: 0,
        warnings: [],
        targets: [
          { target: 'db_1', tables: 0, position: null },
          { target: 'db_2', tables: 0, position: null },
        ],
      });

      // --json: the report is stdout's last line; the text summary goes to stderr.
      const first = await run('--json', '--quiet');
      expect(first.code, first.stderr).toBe(0);
      const report = json(first.stdout) as {
        slotCreated: boolean;
        status: string;
        until: string | null;
        targets: { target: string; position: string | null }[];
      };
      expect(report).toMatchObject({ slot: 'sync_inproc', slotCreated: true, status: 'ok' });
      expect(report.targets.map((t) => t.target)).toEqual(['db_1', 'db_2']);
      expect(first.stderr).toMatch(/Slot sync_inproc \(created\): at \S+/);
      expect(first.stderr).toContain('Audit log: ');

      await writeMany(source, q, 0, 5);
      const upto = await currentLsn();
      await writeMany(source, q, 5, 5);
      const partial = await run('--until', upto);
      expect(partial.code, partial.stderr).toBe(0);
      // 5 transactions of 3 inserts each (accounts, events, logfull) up to the position, not 10.
      expect(partial.stdout).toContain(`synced up to ${upto}`);
      expect(partial.stdout).toMatch(/ {2}db_1: 15 inserts, \d+ updates, \d+ deletes/);
      // On a terminal, the catch-up's progress is one line redrawn in place, ended by a newline.
      const rest = await cli(['sync', '-c', work.file, '--until', 'now'], {
        cwd: work.dir,
        tty: true,
        env: { TERM: 'xterm' },
      });
      expect(rest.code, rest.stderr).toBe(0);
      const redraw = '\r\u001b[2Kpgcopy: ';
      expect(rest.stderr).toContain(redraw);
      expect(rest.stderr.split(redraw).at(-1)).toMatch(
        /^[\d,]+ transaction\(s\) applied, at [0-9A-F]+\/[0-9A-F]+\n/,
      );
      expect(rest.stdout).toMatch(/ {2}db_2: 15 inserts, \d+ updates, \d+ deletes/);
      expect(rest.stdout).not.toContain('(created)');

      const text = await run('--status');
      expect(text.code, text.stderr).toBe(0);
      expect(text.stdout).toMatch(
        /^Slot sync_inproc: at [0-9A-F]+\/[0-9A-F]+; source at [0-9A-F]+\/[0-9A-F]+; lag [\d,]+ bytes; holds [\d,]+ bytes of WAL\n/,
      );
      expect(text.stdout).toContain('Publications: sync_inproc (3 tables), ');
      expect(text.stdout).toMatch(
        / {2}db_1: 3 table\(s\) at [0-9A-F]+\/[0-9A-F]+; lag [\d,]+ bytes, last applied \d{4}-\d\d-\d\dT\S+ \(\d+ s ago\)/,
      );
      const status = json((await run('--status', '--json')).stdout) as {
        exists: boolean;
        confirmedFlush: string;
        targets: { target: string; tables: number; position: string; lagBytes: number }[];
      };
      expect(status.exists).toBe(true);
      // Each target's position is where the slot stands: everything up to now was applied.
      expect(status.targets.map((t) => [t.target, t.tables, t.position])).toEqual([
        ['db_1', 3, status.confirmedFlush],
        ['db_2', 3, status.confirmedFlush],
      ]);

      const dropped = await run('--drop');
      expect(dropped.code, dropped.stderr).toBe(0);
      expect(dropped.stdout).toBe(
        'Slot sync_inproc: dropped\n' +
          'Publications dropped: sync_inproc, sync_inproc_insert_only\n' +
          'Positions removed on: db_1, db_2\n',
      );
      const again = await run('--drop', '--json');
      expect(again.code, again.stderr).toBe(0);
      expect(json(again.stdout)).toEqual({
        slot: 'sync_inproc',
        slotDropped: false,
        publicationsDropped: [],
        targetsCleared: ['db_1', 'db_2'],
      });
      const text2 = await run('--drop');
      expect(text2.stdout).toContain(
        'Slot sync_inproc: did not exist\nPublications dropped: none\n',
      );
    } finally {
      await cli(['sync', '-c', work.file, '--drop'], { cwd: work.dir });
      await work.cleanup();
    }
  });

  it('--follow applies changes as they come until the signal, then says it stopped', async () => {
    const { q, raw } = await prepared('Sync_Follow', {
      sync: { slot: 'sync_follow' },
    });
    const work = await workDir(raw);
    try {
      const first = await cli(['sync', '-c', work.file, '--quiet'], { cwd: work.dir });
      expect(first.code, first.stderr).toBe(0);
      const controller = new AbortController();
      const following = cli(['sync', '-c', work.file, '--follow'], {
        cwd: work.dir,
        signal: controller.signal,
      });
      // Idle first (nothing to read: the follower waits), then 5 transactions while it follows.
      await new Promise((done) => setTimeout(done, 300));
      await writeMany(source, q, 0, 5);
      const deadline = Date.now() + 15_000;
      for (;;) {
        const { rows } = await sql(
          s.target1,
          `SELECT count(*)::int AS n FROM ${q}.accounts WHERE id >= 100000`,
        );
        if ((rows[0] as { n: number }).n === 5 || Date.now() > deadline) break;
        await new Promise((done) => setTimeout(done, 100));
      }
      controller.abort();
      const result = await following;
      expect(result.stderr).toContain('following slot sync_follow until SIGINT or SIGTERM');
      expect(result.stdout).toMatch(/^Slot sync_follow: at [0-9A-F]+\/[0-9A-F]+ \(stopped\)\n/m);
      expect(result.stdout).not.toContain('synced up to');
      expect(result.stdout).toMatch(/ {2}db_1: 15 inserts, /);
      expect(result.code, result.stderr).toBe(0);
      for (const p of await projections(source, targets, q)) {
        expect(p.target, p.name).toEqual(p.source);
      }
    } finally {
      await cli(['sync', '-c', work.file, '--drop'], { cwd: work.dir });
      await work.cleanup();
    }
  });

  it('usage errors name the argument, exit 2, and touch nothing', async () => {
    // A ledger schema no target has: --status and --drop find no positions there.
    const { raw } = await prepared('Sync_Usage', {
      sync: { slot: 'sync_usage' },
      ledgerSchema: uniqueName('no_ledger').toLowerCase(),
    });
    const work = await workDir(raw);
    const run = (...args: string[]) => cli(['sync', '-c', work.file, ...args], { cwd: work.dir });
    try {
      const cases: [string[], string][] = [
        [['--until', '16/B374D84G'], '--until: expected now or a WAL position'],
        [['--until', '1/2/3'], '"1/2/3"'],
        [['--until', 'now', '--follow'], '--until and --follow exclude each other'],
        [['--status', '--drop'], '--status and --drop exclude each other'],
        [['--status', '--until', 'now'], '--status takes no --until or --follow'],
        [['--drop', '--follow'], '--drop takes no --until or --follow'],
        [['extra'], 'unexpected argument "extra"'],
        [['--bogus'], '--bogus'],
      ];
      for (const [args, message] of cases) {
        const result = await run(...args);
        expect([result.code, result.stderr], args.join(' ')).toEqual([
          2,
          expect.stringContaining(message),
        ]);
        expect(result.stdout, args.join(' ')).toBe('');
      }
      const status = await run('--status');
      expect(status.code, status.stderr).toBe(0);
      expect(status.stdout).toMatch(/ {2}db_1: not followed yet\n {2}db_2: not followed yet\n$/);
      const dropped = await run('--drop');
      expect(dropped.code, dropped.stderr).toBe(0);
      expect(dropped.stdout).toContain('Positions removed on: no target\n');
      const { rows } = await sql(
        source,
        `SELECT (SELECT count(*)::int FROM pg_replication_slots WHERE slot_name = 'sync_usage') AS slots,
                (SELECT count(*)::int FROM pg_publication WHERE pubname LIKE 'sync_usage%') AS pubs`,
      );
      expect(rows).toEqual([{ slots: 0, pubs: 0 }]);
    } finally {
      await work.cleanup();
    }
  });

  it('without the ledger: refused with exit 1, the message naming options.ledger', async () => {
    const { raw } = await prepared('Sync_NoLedger', {
      ledger: false,
      sync: { slot: 'sync_no_ledger_cli' },
    });
    const work = await workDir(raw);
    try {
      const result = await cli(['sync', '-c', work.file], { cwd: work.dir });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('options.ledger is false');
      const { rows } = await sql(
        source,
        `SELECT count(*)::int AS n FROM pg_replication_slots WHERE slot_name = 'sync_no_ledger_cli'`,
      );
      expect(rows).toEqual([{ n: 0 }]);
    } finally {
      await work.cleanup();
    }
  });

  it('the WAL warning on --status; a target that cannot be reached is its line and exit 1', async () => {
    const { raw } = await prepared('Sync_Warn', {
      sync: { slot: 'sync_warn', maxSlotWal: 1 },
      retries: 0,
    });
    const work = await workDir(raw);
    try {
      const first = await cli(['sync', '-c', work.file, '--quiet'], { cwd: work.dir });
      expect(first.code, first.stderr).toBe(0);
      // Without --quiet, each step of the sync is a line on stderr.
      const second = await cli(['sync', '-c', work.file], { cwd: work.dir });
      expect(second.stderr).toMatch(/pgcopy: warning: replication slot sync_warn holds \d+/);
      const status = await cli(['sync', '-c', work.file, '--status'], { cwd: work.dir });
      expect(status.code, status.stderr).toBe(0);
      expect(status.stderr).toMatch(
        /pgcopy: warning: replication slot sync_warn holds [\d.]+ (B|kB|MB) of WAL on the source \(options\.sync\.maxSlotWal: 1 B\)/,
      );

      // db_2 on a port nothing listens on: its line says why; db_1's is unchanged.
      const unreachable = structuredClone(raw) as { targets: Record<string, unknown>[] };
      const closed = await closedPort();
      unreachable.targets[1] = { ...unreachable.targets[1], port: closed };
      const broken = await workDir(unreachable);
      try {
        const shown = await cli(['sync', '-c', broken.file, '--status'], { cwd: broken.dir });
        expect(shown.code).toBe(1);
        expect(shown.stdout).toMatch(/ {2}db_1: 3 table\(s\) at /);
        expect(shown.stdout).toMatch(/ {2}db_2: .*(ECONNREFUSED|connect)/i);
        const asJson = await cli(['sync', '-c', broken.file, '--status', '--json'], {
          cwd: broken.dir,
        });
        const t2 = (json(asJson.stdout) as { targets: { error?: string }[] }).targets[1];
        expect(t2?.error).toBeTruthy();
        // --drop goes on without it: the slot and publications go, db_1 forgets its positions.
        const dropped = await cli(['sync', '-c', broken.file, '--drop', '--json'], {
          cwd: broken.dir,
        });
        expect(dropped.code, dropped.stderr).toBe(0);
        expect(json(dropped.stdout)).toMatchObject({
          slotDropped: true,
          targetsCleared: ['db_1'],
        });
      } finally {
        await broken.cleanup();
      }
    } finally {
      await cli(['sync', '-c', work.file, '--drop'], { cwd: work.dir });
      await work.cleanup();
    }
  });
});

/** A port on 127.0.0.1 that was free a moment ago (nothing listens on it). */
async function closedPort(): Promise<number> {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  await new Promise<void>((done) => server.close(() => done()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('what sync needs, for a role without rights', () => {
  it('names the REPLICATION attribute, CREATE, ownership and the replica identity', async () => {
    const { schema, q, config } = await prepared('Sync_Needs', { sync: { slot: 'sync_needs' } });
    const role = uniqueName('plain').toLowerCase();
    await sql(
      source,
      `CREATE ROLE ${role} LOGIN PASSWORD 'plain';
       GRANT USAGE ON SCHEMA ${q} TO ${role};
       ALTER TABLE ${q}.logfull REPLICA IDENTITY DEFAULT;`,
    );
    const client = await connect({ ...source, user: role, password: 'plain' });
    try {
      const report = await checkSyncNeeds(client, config);
      expect(report).toMatchObject({ slot: 'sync_needs', slotExists: false, warnings: [] });
      expect(report.missing).toEqual([
        'the REPLICATION attribute (ALTER ROLE ... REPLICATION; on RDS: GRANT rds_replication)',
        'CREATE on the database (to create the publications)',
        `ownership of ${['accounts', 'events', 'logfull']
          .map((t) => `${schema}.${t}`)
          .join(', ')} (a table is added to a publication by its owner)`,
        `a primary key or replica identity on ${schema}.logfull (or REPLICA IDENTITY FULL, or options.sync.insertOnly)`,
      ]);
      // Both publications made already (by their owner): CREATE is no longer needed.
      await sql(source, 'CREATE PUBLICATION sync_needs; CREATE PUBLICATION sync_needs_insert_only');
      const made = await checkSyncNeeds(client, config);
      expect(made.missing).not.toContain('CREATE on the database (to create the publications)');
      expect(made.missing).toHaveLength(3);
    } finally {
      await client.end();
      await sql(
        source,
        `DROP PUBLICATION IF EXISTS sync_needs, sync_needs_insert_only;
         DROP OWNED BY ${role}; DROP ROLE ${role}`,
      );
    }
  });

  it('a free slot: missing when every slot is taken, not when this sync has its own', async () => {
    const { config } = await prepared('Sync_Slots', { sync: { slot: 'sync_slots' } });
    const client = await connect(source);
    const made: string[] = [];
    try {
      const { rows } = await client.query<{ free: number }>(
        `SELECT current_setting('max_replication_slots')::int
                - (SELECT count(*)::int FROM pg_replication_slots) AS free`,
      );
      for (let i = 0; i < (rows[0]?.free ?? 0); i += 1) {
        const name = `sync_slots_filler_${i}`;
        await client.query('SELECT pg_create_physical_replication_slot($1)', [name]);
        made.push(name);
      }
      const full = await checkSyncNeeds(client, config);
      expect(full.missing).toEqual([
        'a free replication slot (max_replication_slots = 10, all in use)',
      ]);
      // Its own slot taken by this sync: nothing is missing; a slot over maxSlotWal warns.
      await client.query('SELECT pg_drop_replication_slot($1)', [made.pop()]);
      await client.query(`SELECT pg_create_logical_replication_slot('sync_slots', 'pgoutput')`);
      const own = await checkSyncNeeds(client, {
        ...config,
        options: { ...config.options, sync: { ...config.options.sync, maxSlotWalBytes: 0 } },
      } as typeof config);
      expect(own).toMatchObject({ slotExists: true, missing: [] });
      expect(own.warnings).toEqual([expect.stringContaining('replication slot sync_slots holds')]);
    } finally {
      for (const name of [...made, 'sync_slots']) {
        await client.query('SELECT pg_drop_replication_slot($1)', [name]).catch(() => undefined);
      }
      await client.end();
    }
  });
});

describe('the publications follow the config', () => {
  it('a table taken out is removed, one moved to insert-only changes publication', async () => {
    const { schema, config } = await prepared('Sync_Pubs', { sync: { slot: 'sync_pubs' } });
    const names = syncNames(config);
    const client = await connect(source);
    const members = async () =>
      (
        await client.query<{ pub: string; t: string }>(
          `SELECT pubname AS pub, tablename AS t FROM pg_publication_tables
            WHERE pubname LIKE 'sync_pubs%' ORDER BY 1, 2`,
        )
      ).rows.map((r) => `${r.pub}: ${r.t}`);
    const table = (name: string, insertOnly = false) => ({ schema, table: name, insertOnly });
    try {
      const first = await ensurePublications(client, names, [
        table('accounts'),
        table('events'),
        table('logfull'),
      ]);
      expect(first.created).toEqual(['sync_pubs', 'sync_pubs_insert_only']);
      const second = await ensurePublications(client, names, [
        table('accounts'),
        table('logfull', true),
      ]);
      expect(second).toEqual({
        created: [],
        added: [`sync_pubs_insert_only: ${schema}.logfull`],
        removed: [`sync_pubs: ${schema}.events`, `sync_pubs: ${schema}.logfull`],
      });
      expect(await members()).toEqual(['sync_pubs: accounts', 'sync_pubs_insert_only: logfull']);
      // --status counts each publication's tables; no slot yet.
      const status = await syncStatus(config);
      expect(status).toMatchObject({
        exists: false,
        publications: [
          { name: 'sync_pubs', tables: 1 },
          { name: 'sync_pubs_insert_only', tables: 1 },
        ],
      });
    } finally {
      await client.query('DROP PUBLICATION IF EXISTS sync_pubs, sync_pubs_insert_only');
      await client.end();
    }
  });
});
