import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerInfo } from '../support/server-info.js';
import { cli, workDir } from '../support/cli.js';
import { endpointOf } from '../support/config.js';
import { connect, isCopyQuery, servers, sql, tableDigest, uniqueName } from '../support/db.js';
import { sourceStep } from '../../src/copy/source-step.js';

const schema = uniqueName('Drop');
const q = `"${schema}"`;
const s = servers();
let work: Awaited<ReturnType<typeof workDir>>;
const kept = { count: 1, md5: '' };

beforeAll(async () => {
  await sql(
    s.source,
    `CREATE SCHEMA ${q};
     CREATE TABLE ${q}.big (id int, payload text);
     INSERT INTO ${q}.big SELECT g, repeat('x', 200) FROM generate_series(1, 1000000) g;`,
  );
  await sql(
    s.target1,
    `CREATE SCHEMA ${q};
     CREATE TABLE ${q}.big (id int, payload text);
     INSERT INTO ${q}.big VALUES (-1, 'kept');`,
  );
  kept.md5 = (await tableDigest(s.target1, `SELECT * FROM ${q}.big`)).md5;
  work = await workDir({
    source: endpointOf(s.source, schema),
    targets: [{ name: 'db_1', ...endpointOf(s.target1, schema), tables: ['big'] }],
    // No retries: this pins the message of the failure itself (fault-retries covers retrying).
    options: { mode: 'truncate', logDir: 'logs', retries: 0 },
  });
});

afterAll(async () => {
  await work.cleanup();
  await sql(s.source, `DROP SCHEMA ${q} CASCADE`);
  await sql(s.target1, `DROP SCHEMA ${q} CASCADE`);
});

/**
 * Waits for pgcopy's COPY on `server`, then terminates that backend (as a DBA or a failover would).
 * Only a session that began `since` (the server's clock): the previous case's sessions may still
 * be leaving pg_stat_activity, their last statement a COPY too.
 */
async function terminateCopyBackend(server: ServerInfo, since: string): Promise<void> {
  for (let i = 0; i < 1_000; i += 1) {
    const { rows } = await sql(
      server,
      `SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity
        WHERE application_name = 'pgcopy' AND ${isCopyQuery()} AND query LIKE $1
          AND backend_start >= $2::timestamptz`,
      [`%${schema}%`, since],
    );
    if (rows.length > 0) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('the COPY never started');
}

describe('a dropped connection says which side and what was happening', () => {
  it.each([
    [
      'source',
      () => s.source,
      /^(\[57P01\] )?source: connection lost while copying db_1\.big from "big": /,
    ],
    [
      'target',
      () => s.target1,
      /^(\[57P01\] )?target db_1: connection lost while copying db_1\.big from "big": /,
    ],
  ] as const)(
    'the %s backend terminated mid-copy: the error names the side and the table',
    async (_side, server, expected) => {
      const since = ((await sql(server(), 'SELECT now()::text AS now')).rows[0] as { now: string })
        .now;
      const pending = cli(['run', '-c', work.file, '--quiet'], { cwd: work.dir });
      await terminateCopyBackend(server(), since);
      const result = await pending;
      expect(result.code).toBe(1);
      const line = /❌ db_1\.big: (.*)/.exec(result.stdout)?.[1] ?? result.stdout;
      expect(line).toMatch(expected);
      // The reason is what the socket saw first (the server's FATAL message, ECONNRESET, EPIPE,
      // or the connection's end), depending on timing.
      expect(line).toMatch(/: \S.*; the target transaction was rolled back$/);
      expect(await tableDigest(s.target1, `SELECT * FROM ${q}.big`)).toEqual(kept);
    },
  );
});

describe('a source connection lost before any table starts', () => {
  it('names the side and the step (reading the catalogs, opening the snapshot)', async () => {
    const client = await connect(s.source);
    client.on('error', () => undefined);
    const pid = ((await client.query('SELECT pg_backend_pid() AS pid')).rows[0] as { pid: number })
      .pid;
    const lost = sourceStep('reading the catalogs', async () => {
      await sql(s.source, `SELECT pg_terminate_backend(${pid})`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      return client.query('SELECT 1');
    });
    await expect(lost).rejects.toThrow(/^source: connection lost while reading the catalogs: ./);
    await client.end().catch(() => undefined);
    // PostgreSQL's own errors pass unchanged.
    await expect(sourceStep('reading', () => sql(s.source, 'SELECT 1/0'))).rejects.toThrow(
      'division by zero',
    );
  });
});
