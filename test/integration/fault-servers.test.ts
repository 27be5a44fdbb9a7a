import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embeddedBinDir } from '../../src/demo/binaries.js';
import { startLocalPostgres, type LocalPostgres } from '../../src/demo/local-postgres.js';
import type { RunReport } from '../../src/report/events.js';
import { cli, workDir } from '../support/cli.js';
import { endpointOf } from '../support/config.js';
import { isCopyQuery, servers, sql, tableDigest, uniqueName } from '../support/db.js';
import { leftoverSessions } from '../support/faults.js';
import { result } from '../support/report.js';
import type { ServerInfo } from '../support/server-info.js';

// Faults that stop or kill a server run against a server of this file's own: the suite's
// servers are shared by every test file.
const ROWS = 200_000;
const schema = uniqueName('Servers');
const q = `"${schema}"`;
const s = servers();
let own: LocalPostgres;
let ownInfo: ServerInfo;
let sourceDigest = { count: 0, md5: '' };

beforeAll(async () => {
  own = await startLocalPostgres({ binDir: embeddedBinDir(), name: 'fault-target' });
  ownInfo = { ...own, name: own.name };
  await sql(
    s.source,
    `CREATE SCHEMA ${q};
     CREATE TABLE ${q}.big (id int PRIMARY KEY, payload text);
     INSERT INTO ${q}.big SELECT g, repeat('x', 200) FROM generate_series(1, ${ROWS}) g;`,
  );
  sourceDigest = await tableDigest(s.source, `SELECT * FROM ${q}.big`);
  for (const server of [s.target1, ownInfo]) {
    await sql(
      server,
      `CREATE SCHEMA ${q}; CREATE TABLE ${q}.big (id int PRIMARY KEY, payload text);`,
    );
  }
  // The test servers run with synchronous_commit off: a commit's WAL may still be in shared
  // memory, which the restart after the SIGKILL below wipes, and the schema with it. CHECKPOINT
  // writes it out first.
  await sql(ownInfo, 'CHECKPOINT');
}, 60_000);

afterAll(async () => {
  await own.stop();
  await sql(s.source, `DROP SCHEMA ${q} CASCADE`);
  await sql(s.target1, `DROP SCHEMA ${q} CASCADE`);
});

/** The pid of pgcopy's COPY on `server`, once it runs. */
async function copyBackend(server: ServerInfo): Promise<number> {
  for (let i = 0; i < 2_000; i += 1) {
    const { rows } = await sql(
      server,
      `SELECT pid FROM pg_stat_activity WHERE application_name = 'pgcopy' AND state = 'active'
        AND ${isCopyQuery()} AND query LIKE $1`,
      [`%${schema}%`],
    );
    const pid = (rows[0] as { pid: number } | undefined)?.pid;
    if (pid !== undefined) return pid;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('the COPY never started');
}

/** Starts `pgcopy run` on a work dir's config, writing report.json; resolves when it ends. */
function startRun(work: { dir: string; file: string }): Promise<{ code: number }> {
  return cli(['run', '-c', work.file, '--quiet', '--report', 'report.json'], { cwd: work.dir });
}

describe('fault suite: a target server killed or stopped mid-run', () => {
  it('a target backend killed with SIGKILL (the server restarts): the retry completes the table', async () => {
    const work = await workDir({
      source: endpointOf(s.source, schema),
      targets: [{ name: 'own', ...endpointOf(ownInfo, schema), tables: ['big'] }],
      options: { mode: 'truncate', logDir: 'logs' },
    });
    try {
      const pending = startRun(work);
      process.kill(await copyBackend(ownInfo), 'SIGKILL');
      expect((await pending).code).toBe(0);
      const report = JSON.parse(await readFile(join(work.dir, 'report.json'), 'utf8')) as RunReport;
      expect(result(report, 'big')).toMatchObject({ status: 'done', rows: ROWS });
      expect(result(report, 'big').attempts).toBeGreaterThanOrEqual(2);
      expect(await tableDigest(ownInfo, `SELECT * FROM ${q}.big`)).toEqual(sourceDigest);
      expect(await leftoverSessions(ownInfo, schema)).toBe(0);
      expect(await leftoverSessions(s.source, schema)).toBe(0);
    } finally {
      await work.cleanup();
    }
  });

  it('a target server stopped during the run: its table ends error, the other target completes', async () => {
    const work = await workDir({
      source: endpointOf(s.source, schema),
      targets: [
        { name: 'db_1', ...endpointOf(s.target1, schema), tables: ['big'] },
        { name: 'own', ...endpointOf(ownInfo, schema), tables: ['big'] },
      ],
      options: { mode: 'truncate', logDir: 'logs', retries: 1 },
    });
    try {
      const pending = startRun(work);
      await copyBackend(ownInfo);
      await own.stop();
      expect((await pending).code).toBe(1);
      const report = JSON.parse(await readFile(join(work.dir, 'report.json'), 'utf8')) as RunReport;
      const [db1, stopped] = [report.tables[0], report.tables[1]];
      expect(db1).toMatchObject({ target: 'db_1', status: 'done', rows: ROWS });
      expect(stopped).toMatchObject({ target: 'own', status: 'error', rows: 0, attempts: 2 });
      expect(await tableDigest(s.target1, `SELECT * FROM ${q}.big`)).toEqual(sourceDigest);
      expect(await leftoverSessions(s.target1, schema)).toBe(0);
      expect(await leftoverSessions(s.source, schema)).toBe(0);
    } finally {
      await work.cleanup();
    }
  });
});
