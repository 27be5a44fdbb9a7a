import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCopyQuery, servers, sql, tableDigest, uniqueName } from '../support/db.js';
import { endpointOf } from '../support/config.js';
import { cli, workDir } from '../support/cli.js';

const schema = uniqueName('interrupt');
const q = `"${schema}"`;
const s = servers();
const bin = fileURLToPath(new URL('../../bin/pgcopy.js', import.meta.url));
let work: Awaited<ReturnType<typeof workDir>>;

beforeAll(async () => {
  await sql(
    s.source,
    `
    CREATE SCHEMA ${q};
    CREATE TABLE ${q}.big (id int, payload text);
    INSERT INTO ${q}.big SELECT g, repeat('x', 200) FROM generate_series(1, 1500000) g;
  `,
  );
  await sql(
    s.target1,
    `
    CREATE SCHEMA ${q};
    CREATE TABLE ${q}.big (id int, payload text);
    INSERT INTO ${q}.big VALUES (-1, 'kept');
  `,
  );
  work = await workDir({
    source: endpointOf(s.source, schema),
    targets: [{ name: 'db_1', ...endpointOf(s.target1, schema), tables: ['big'] }],
    options: { mode: 'truncate' },
  });
});

afterAll(async () => {
  await work.cleanup();
  await sql(s.source, `DROP SCHEMA ${q} CASCADE`);
  await sql(s.target1, `DROP SCHEMA ${q} CASCADE`);
});

const kept = { count: 1, md5: '' };

describe('interrupts roll back every open target transaction', () => {
  beforeAll(async () => {
    kept.md5 = (await tableDigest(s.target1, `SELECT * FROM ${q}.big`)).md5;
  });

  it('an aborted signal mid-copy exits 130 and leaves the target as it was', async () => {
    const controller = new AbortController();
    const pending = cli(['run', '-c', work.file], { cwd: work.dir, signal: controller.signal });
    // Abort once the copy is under way: poll the target for the open COPY.
    for (;;) {
      const { rows } = await sql(
        s.target1,
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE ${isCopyQuery('query', q)}`,
      );
      if ((rows[0] as { n: number }).n > 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    controller.abort(new Error('SIGINT received'));
    const result = await pending;
    expect(result.code).toBe(130);
    expect(result.stdout).toMatch(/db_1\s+big\s+error/);
    expect(result.stdout).toContain('interrupted; the target transaction was rolled back');
    expect(await tableDigest(s.target1, `SELECT * FROM ${q}.big`)).toEqual(kept);
  });

  it.each(['SIGINT', 'SIGTERM'] as const)(
    '%s to the pgcopy process exits 130 (SIGINT) or 143 (SIGTERM) with nothing partial in the target',
    async (signal) => {
      const child = spawn(process.execPath, [bin, 'run', '-c', work.file], {
        cwd: work.dir,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      const exited = new Promise<number | null>((resolve) =>
        child.once('exit', (code) => resolve(code)),
      );
      await new Promise<void>((resolve) => {
        child.stderr.on('data', (d: Buffer) => {
          stderr += d.toString();
          if (stderr.includes('started db_1.big')) resolve();
        });
      });
      // Let rows flow into the target before interrupting.
      await new Promise((r) => setTimeout(r, 300));
      child.kill(signal);
      expect(await exited).toBe(signal === 'SIGTERM' ? 143 : 130);
      expect(stderr).toContain(`${signal} received, rolling back open work`);
      expect(stdout).toMatch(/db_1\s+big\s+error/);
      expect(await tableDigest(s.target1, `SELECT * FROM ${q}.big`)).toEqual(kept);
    },
  );
});
