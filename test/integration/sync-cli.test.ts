import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { postgres as pg13Postgres } from 'pg13';
import { describe, expect, it } from 'vitest';
import { cli, workDir } from '../support/cli.js';
import { servers, sql, uniqueName } from '../support/db.js';
import type { ServerInfo } from '../support/server-info.js';
import { useLogicalSource } from '../support/sync-source.js';
import {
  SOURCE_TABLES,
  createTargets,
  projections,
  syncConfig,
  writeMany,
} from '../support/sync-workload.js';

// The sync command's other faces: --json, --status, --drop, the audit log's line per target, the
// slot-WAL warning, check's report of what sync needs; and a PostgreSQL 13 source.
const s = servers();
const targets = { db_1: s.target1, db_2: s.target2 };
let source: ServerInfo;
let source13: ServerInfo;
const schemas = useLogicalSource('sync-cli-source', (started) => {
  source = started;
});
useLogicalSource(
  'sync-cli-pg13',
  (started) => {
    source13 = started;
  },
  { binDir: dirname(pg13Postgres) },
);

async function prepared(from: ServerInfo, prefix: string, options: Record<string, unknown>) {
  const schema = uniqueName(prefix);
  const q = `"${schema}"`;
  schemas.push(schema);
  await sql(from, SOURCE_TABLES(q));
  await createTargets(targets, q);
  const { raw } = syncConfig(from, targets, schema, options);
  return { q, work: await workDir(raw) };
}

async function expectEqual(from: ServerInfo, q: string): Promise<void> {
  for (const p of await projections(from, targets, q)) {
    expect(p.target, p.name).toEqual(p.source);
  }
}

/** The last line of stdout as JSON (--json prints one object). */
function json(stdout: string): Record<string, unknown> {
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
}

describe('pgcopy sync from the command line', () => {
  it('--json, --status, the audit line per target, the WAL warning, then --drop', async () => {
    const { q, work } = await prepared(source, 'Sync_Cli', {
      sync: { slot: 'sync_cli', maxSlotWal: 1 },
    });
    try {
      const first = await cli(['sync', '-c', work.file, '--json'], { cwd: work.dir });
      expect(first.code, first.stderr).toBe(0);
      expect(json(first.stdout)).toMatchObject({ slot: 'sync_cli', slotCreated: true });
      await writeMany(source, q, 0, 30);
      const caught = await cli(['sync', '-c', work.file, '--until', 'now'], { cwd: work.dir });
      expect(caught.code, caught.stderr).toBe(0);
      expect(caught.stdout).toMatch(/db_1: 90 inserts, \d+ updates, \d+ deletes/);
      // A slot holding more WAL than options.sync.maxSlotWal (1 byte here) is a warning.
      expect(caught.stderr).toMatch(/warning: replication slot sync_cli holds .* of WAL/);
      await expectEqual(source, q);
      const logs = join(work.dir, 'logs');
      const audit = await Promise.all(
        (await readdir(logs)).map((f) => readFile(join(logs, f), 'utf8')),
      );
      expect(audit.join('\n')).toMatch(/Sync db_2: 90 inserts, \d+ updates/);

      const status = await cli(['sync', '-c', work.file, '--status', '--json'], { cwd: work.dir });
      expect(status.code, status.stderr).toBe(0);
      const shown = json(status.stdout) as {
        exists: boolean;
        lagBytes: number;
        targets: { target: string; tables: number; position: string | null }[];
        publications: { name: string; tables: number }[];
      };
      expect(shown.exists).toBe(true);
      expect(shown.targets.map((t) => [t.target, t.tables])).toEqual([
        ['db_1', 3],
        ['db_2', 3],
      ]);
      expect(shown.publications).toEqual([
        { name: 'sync_cli', tables: 3 },
        { name: 'sync_cli_insert_only', tables: 0 },
      ]);
      const text = await cli(['sync', '-c', work.file, '--status'], { cwd: work.dir });
      expect(text.stdout).toMatch(/Slot sync_cli: at \S+; source at \S+; lag [\d,]+ bytes/);

      const usage = await cli(['sync', '-c', work.file, '--drop', '--follow'], { cwd: work.dir });
      expect(usage.code).toBe(2);
      const dropped = await cli(['sync', '-c', work.file, '--drop'], { cwd: work.dir });
      expect(dropped.code, dropped.stderr).toBe(0);
      const { rows } = await sql(
        source,
        `SELECT (SELECT count(*)::int FROM pg_replication_slots) AS slots,
                (SELECT count(*)::int FROM pg_publication) AS pubs`,
      );
      expect(rows).toEqual([{ slots: 0, pubs: 0 }]);
      const { rows: positions } = await sql(
        s.target1,
        `SELECT count(*)::int AS n FROM pgcopy.sync_state WHERE slot = 'sync_cli'`,
      );
      expect(positions).toEqual([{ n: 0 }]);
    } finally {
      await work.cleanup();
    }
  }, 90_000);

  it('check says what sync needs: ready on a logical source, wal_level on the suite source', async () => {
    const { work } = await prepared(source, 'Sync_Check', { sync: { slot: 'sync_check' } });
    try {
      const ready = await cli(['check', '-c', work.file, '--json'], { cwd: work.dir });
      expect(ready.code, ready.stdout).toBe(0);
      expect((JSON.parse(ready.stdout) as Record<string, unknown>)['sync']).toMatchObject({
        slot: 'sync_check',
        missing: [],
      });
    } finally {
      await work.cleanup();
    }
    // The suite's source runs with wal_level = replica: with options.sync the check fails on it.
    const schema = uniqueName('Sync_Check_Replica');
    schemas.push(schema);
    await sql(s.source, SOURCE_TABLES(`"${schema}"`));
    await createTargets(targets, `"${schema}"`);
    const replica = await workDir(
      syncConfig(s.source, targets, schema, { sync: { slot: 'sync_check' } }).raw,
    );
    try {
      const failed = await cli(['check', '-c', replica.file], { cwd: replica.dir });
      expect(failed.code).toBe(1);
      expect(failed.stdout).toMatch(/source: sync needs wal_level = logical \(it is replica/);
      const plain = await workDir(syncConfig(s.source, targets, schema).raw);
      try {
        // Without options.sync it is said, and the check passes.
        const said = await cli(['check', '-c', plain.file], { cwd: plain.dir });
        expect(said.stdout).toMatch(/sync: not ready/);
        expect(said.code, said.stdout).toBe(0);
      } finally {
        await plain.cleanup();
      }
    } finally {
      await replica.cleanup();
      await sql(s.source, `DROP SCHEMA "${schema}" CASCADE`);
    }
  }, 60_000);

  it('follows a PostgreSQL 13 source', async () => {
    const { q, work } = await prepared(source13, 'Sync_Pg13', { sync: { slot: 'sync_pg13' } });
    try {
      const first = await cli(['sync', '-c', work.file], { cwd: work.dir });
      expect(first.code, first.stderr).toBe(0);
      await writeMany(source13, q, 0, 100);
      const caught = await cli(['sync', '-c', work.file], { cwd: work.dir });
      expect(caught.code, caught.stderr).toBe(0);
      await expectEqual(source13, q);
      expect((await cli(['sync', '-c', work.file, '--drop'], { cwd: work.dir })).code).toBe(0);
    } finally {
      await work.cleanup();
    }
  }, 60_000);
});
