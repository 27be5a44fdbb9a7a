import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { sync } from '../../src/sync/sync.js';
import { dropSync } from '../../src/sync/sync-status.js';
import { spawnPgcopy } from '../support/child-pgcopy.js';
import { workDir } from '../support/cli.js';
import { servers, sql, uniqueName } from '../support/db.js';
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

// pgcopy sync as a process: SIGKILL at several moments of a catch-up, then sync again (every
// target table equals the source's projection: nothing lost, nothing twice, which logfull, without
// a unique key on the targets, would show); --follow stopped with SIGTERM ends within seconds.
const s = servers();
const targets = { db_1: s.target1, db_2: s.target2 };
let source: ServerInfo;
const schemas = useLogicalSource('sync-kill-source', (started) => {
  source = started;
});

async function prepared(prefix: string, slot: string) {
  const schema = uniqueName(prefix);
  const q = `"${schema}"`;
  schemas.push(schema);
  await sql(source, SOURCE_TABLES(q));
  await createTargets(targets, q);
  const { raw, config } = syncConfig(source, targets, schema, { sync: { slot } });
  const work = await workDir(raw);
  await sync(config);
  return { q, config, work };
}

async function expectEqual(q: string): Promise<void> {
  for (const p of await projections(source, targets, q)) {
    expect(p.target, p.name).toEqual(p.source);
  }
}

describe('pgcopy sync killed with SIGKILL during a catch-up', () => {
  it('then run again: every target table equals the source, nothing applied twice, nothing lost', async () => {
    const { q, config, work } = await prepared('Sync_Kill', 'sync_kill');
    try {
      const command = ['sync', '-c', work.file, '--until', 'now'];
      await writeMany(source, q, 0, 200);
      const baseline = spawnPgcopy(command, work.dir);
      expect(await baseline.exitWithin(60_000), baseline.stderr()).toBe(0);
      await expectEqual(q);
      let interrupted = 0;
      // Moments: milliseconds after the catch-up starts (it says so on stderr).
      for (const [i, after] of [0, 30, 80, 150, 250].entries()) {
        await writeMany(source, q, 10_000 * (i + 1), 200);
        const child = spawnPgcopy(command, work.dir);
        await child.waitForStderr('applying the changes of slot');
        await sleep(after);
        child.kill('SIGKILL');
        if ((await child.exitWithin(30_000)) === null) interrupted += 1;
      }
      // Most kills fell before the catch-up ended (a fast one may have finished first).
      expect(interrupted).toBeGreaterThanOrEqual(3);
      const last = spawnPgcopy(command, work.dir);
      expect(await last.exitWithin(60_000), last.stderr()).toBe(0);
      await expectEqual(q);
    } finally {
      await dropSync(config);
      await work.cleanup();
    }
  }, 120_000);
});

describe('pgcopy sync killed with SIGKILL during its first copy', () => {
  it('then run again: the tables not copied are copied in a new snapshot, and every target equals the source', async () => {
    const schema = uniqueName('Sync_Kill_First');
    const q = `"${schema}"`;
    schemas.push(schema);
    await sql(source, SOURCE_TABLES(q));
    await createTargets(targets, q);
    // Each row waits 2 ms in a trigger on the targets: the copy lasts long enough to be cut.
    for (const server of [s.target1, s.target2]) {
      await sql(
        server,
        `CREATE FUNCTION ${q}.slow_row() RETURNS trigger LANGUAGE plpgsql
           AS $$ BEGIN PERFORM pg_catalog.pg_sleep(0.002); RETURN NEW; END $$;
         CREATE TRIGGER slow_row BEFORE INSERT ON ${q}.accounts
           FOR EACH ROW EXECUTE FUNCTION ${q}.slow_row();`,
      );
    }
    const { raw, config } = syncConfig(source, targets, schema, {
      sync: { slot: 'sync_kill_first' },
      concurrency: 1,
    });
    const work = await workDir(raw);
    try {
      const writer = writeUntilStopped(source, q, 0);
      const child = spawnPgcopy(['sync', '-c', work.file], work.dir);
      await child.waitForStderr('creating replication slot');
      await sleep(500);
      child.kill('SIGKILL');
      expect(await child.exitWithin(30_000)).toBeNull();
      await writer.stop();
      const { rows } = await sql(
        source,
        `SELECT count(*)::int AS n FROM pg_replication_slots WHERE slot_name = 'sync_kill_first'`,
      );
      expect(rows).toEqual([{ n: 1 }]);
      const again = spawnPgcopy(['sync', '-c', work.file], work.dir);
      expect(await again.exitWithin(60_000), again.stderr()).toBe(0);
      // The pairs the killed copy had not committed were copied again, in a new snapshot.
      expect(again.stderr()).toMatch(/not followed yet in a new snapshot/);
      await writeMany(source, q, 5000, 20);
      const last = spawnPgcopy(['sync', '-c', work.file, '--until', 'now'], work.dir);
      expect(await last.exitWithin(60_000), last.stderr()).toBe(0);
      await expectEqual(q);
    } finally {
      await dropSync(config);
      await work.cleanup();
    }
  }, 90_000);
});

describe('pgcopy sync --follow', () => {
  it('applies changes as they come and ends within seconds of SIGTERM, nothing half-applied', async () => {
    const { q, config, work } = await prepared('Sync_Follow', 'sync_follow');
    try {
      const child = spawnPgcopy(['sync', '-c', work.file, '--follow'], work.dir);
      await child.waitForStderr('following slot');
      const writer = writeUntilStopped(source, q, 0);
      await sleep(2000);
      const stopping = performance.now();
      child.kill('SIGTERM');
      const code = await child.exitWithin(10_000);
      const took = performance.now() - stopping;
      await writer.stop();
      expect(code, child.stderr()).toBe(143);
      expect(took).toBeLessThan(5000);
      // It applied while following (its report says so), and says where it stopped.
      expect(child.stdout()).toMatch(/db_1: [1-9][\d,]* inserts?/);
      expect(child.stdout()).toMatch(/\(stopped\)/);
      const { report } = await sync(config, { until: 'now' });
      expect(report.status).toBe('ok');
      await expectEqual(q);
    } finally {
      await dropSync(config);
      await work.cleanup();
    }
  }, 90_000);
});
