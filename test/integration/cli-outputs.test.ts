import { spawn } from 'node:child_process';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditFile } from '../../src/report/audit-file.js';
import { reportFileSchema, runReportSchema } from '../../src/report/report-schema.js';
import { cli, workDir } from '../support/cli.js';
import { endpointOf } from '../support/config.js';
import { servers, sql, uniqueName } from '../support/db.js';

const schema = uniqueName('Outputs');
const q = `"${schema}"`;
const s = servers();
const bin = fileURLToPath(new URL('../../bin/pgcopy.js', import.meta.url));
const cleanups: (() => Promise<void>)[] = [];

function rawConfig(options: Record<string, unknown> = {}, sourcePort?: number): unknown {
  return {
    source: { ...endpointOf(s.source, schema), ...(sourcePort ? { port: sourcePort } : {}) },
    targets: [{ name: 'db_1', ...endpointOf(s.target1, schema), tables: ['t'] }],
    options: { mode: 'append', ...options },
  };
}

async function setup(config: unknown): Promise<{ dir: string; file: string }> {
  const w = await workDir(config);
  cleanups.push(w.cleanup);
  return w;
}

async function targetRows(): Promise<number> {
  const { rows } = await sql(s.target1, `SELECT count(*)::int AS n FROM ${q}.t`);
  return (rows[0] as { n: number }).n;
}

/** The installed bin in a child process, killed after `timeoutMs` (a hang must fail, not block). */
function runBin(
  args: string[],
  cwd: string,
  timeoutMs = 15_000,
): Promise<{ code: number | null; signal: string | null; stderr: string; ms: number }> {
  const started = Date.now();
  const child = spawn(process.execPath, [bin, ...args], {
    cwd,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stderr, ms: Date.now() - started });
    }),
  );
}

beforeAll(async () => {
  await sql(
    s.source,
    `CREATE SCHEMA ${q}; CREATE TABLE ${q}.t (id int); INSERT INTO ${q}.t SELECT generate_series(1, 100);`,
  );
  await sql(s.target1, `CREATE SCHEMA ${q}; CREATE TABLE ${q}.t (id int);`);
});

afterAll(async () => {
  for (const c of cleanups) await c();
  await sql(s.source, `DROP SCHEMA ${q} CASCADE`);
  await sql(s.target1, `DROP SCHEMA ${q} CASCADE`);
});

describe('logDir problems are config errors (exit 2), found before any data moves', () => {
  it('a logDir that cannot be created (/proc/nope) exits 2 at once instead of spinning for ever', async () => {
    const { dir, file } = await setup(rawConfig({ logDir: '/proc/nope' }));
    const result = await runBin(['run', '-c', file, '--quiet'], dir);
    expect(result).toMatchObject({
      code: 2,
      signal: null,
      stderr: 'pgcopy: options.logDir: cannot create /proc/nope (ENOENT)\n',
    });
    expect(result.ms).toBeLessThan(10_000);
    expect(await targetRows()).toBe(0);
  });

  it('a logDir that is a file, or under a file, exits 2 naming options.logDir', async () => {
    const { dir, file } = await setup(rawConfig({ logDir: 'taken' }));
    await writeFile(join(dir, 'taken'), 'not a directory');
    expect(await cli(['run', '-c', file, '--quiet'], { cwd: dir })).toEqual({
      code: 2,
      stdout: '',
      stderr: `pgcopy: options.logDir: ${join(dir, 'taken')} is not a directory\n`,
    });
    const under = await setup(rawConfig({ logDir: 'taken/logs' }));
    await writeFile(join(under.dir, 'taken'), 'not a directory');
    expect((await cli(['run', '-c', under.file], { cwd: under.dir })).stderr).toBe(
      `pgcopy: options.logDir: ${join(under.dir, 'taken')} is not a directory\n`,
    );
    expect(await targetRows()).toBe(0);
  });

  it('a logDir where no file can be written exits 2 naming the file', async () => {
    const { dir, file } = await setup(rawConfig({ logDir: '/sys' }));
    const result = await cli(['run', '-c', file, '--quiet'], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /^pgcopy: options\.logDir: cannot write \/sys\/audit_\d{8}_\d{6}\.log \(EACCES\)\n$/,
    );
    expect(await targetRows()).toBe(0);
  });
});

describe('--report', () => {
  it('an unwritable --report path exits 2 before any table is copied', async () => {
    const { dir, file } = await setup(rawConfig({ logDir: 'logs' }));
    const missing = await cli(['run', '-c', file, '--report', '/proc/nope/report.json'], {
      cwd: dir,
    });
    expect(missing).toEqual({
      code: 2,
      stdout: '',
      stderr: 'pgcopy: --report: cannot write /proc/nope/report.json (ENOENT)\n',
    });
    await mkdir(join(dir, 'a-directory'));
    const directory = await cli(['run', '-c', file, '--report', 'a-directory'], { cwd: dir });
    expect(directory.code).toBe(2);
    expect(directory.stderr).toBe(
      `pgcopy: --report: cannot write ${join(dir, 'a-directory')} (it is a directory)\n`,
    );
    expect(await targetRows()).toBe(0);
    // Nothing ran, so no audit log either.
    await expect(readdir(join(dir, 'logs'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('is written even when the run stops early (unreachable source), saying why', async () => {
    const { dir, file } = await setup(rawConfig({ logDir: 'logs' }, 1));
    const reportFile = join(dir, 'report.json');
    await writeFile(reportFile, '{"status":"done","stale":"from an earlier run"}');
    const result = await cli(['run', '-c', file, '--report', reportFile, '--quiet'], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^pgcopy: cannot connect to source \(/);
    expect(result.stdout).toBe(`Report: ${reportFile}\n`);
    const report = JSON.parse(await readFile(reportFile, 'utf8')) as Record<string, unknown>;
    expect(report).toEqual({
      startedAt: expect.any(String) as unknown,
      finishedAt: expect.any(String) as unknown,
      status: 'error',
      snapshot: null,
      tables: [],
      error: {
        code: 'CONNECT',
        message: expect.stringMatching(/^cannot connect to source \(.*ECONNREFUSED/) as unknown,
      },
    });
    const [log] = await readdir(join(dir, 'logs'));
    expect(await readFile(join(dir, 'logs', log ?? ''), 'utf8')).toMatch(
      /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d Run failed: cannot connect to source \(/,
    );
  });

  it('a completed run writes error: null', async () => {
    const { dir, file } = await setup(rawConfig({ logDir: 'logs' }));
    const reportFile = join(dir, 'report.json');
    expect((await cli(['run', '-c', file, '--report', reportFile], { cwd: dir })).code).toBe(0);
    const report = JSON.parse(await readFile(reportFile, 'utf8')) as Record<string, unknown>;
    expect(report).toMatchObject({ status: 'done', error: null });
    await sql(s.target1, `TRUNCATE ${q}.t`);
  });

  it("bug: the report had no schema: a real run's report file and run --json report match the published one", async () => {
    const { dir, file } = await setup(rawConfig({ logDir: 'logs' }));
    const reportFile = join(dir, 'report.json');
    const result = await cli(['run', '-c', file, '--report', reportFile, '--json'], { cwd: dir });
    expect(result.code).toBe(0);
    const report = JSON.parse(await readFile(reportFile, 'utf8')) as unknown;
    expect(reportFileSchema.parse(report)).toMatchObject({ tables: [{ rows: 100 }] });
    const runEnd = result.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { type: string; report?: unknown })
      .find((event) => event.type === 'run-end');
    expect(runReportSchema.parse(runEnd?.report)).toMatchObject({ status: 'done' });
    // An early stop's report (no tables, an error) matches too.
    const stopped = await setup(rawConfig({ logDir: 'logs' }, 1));
    const stoppedFile = join(stopped.dir, 'report.json');
    await cli(['run', '-c', stopped.file, '--report', stoppedFile, '--quiet'], {
      cwd: stopped.dir,
    });
    const early = JSON.parse(await readFile(stoppedFile, 'utf8')) as unknown;
    expect(reportFileSchema.parse(early)).toMatchObject({ error: { code: 'CONNECT' } });
    await sql(s.target1, `TRUNCATE ${q}.t`);
  });
});

describe('audit files', () => {
  it('two runs started in the same second get separate files, not one file with mixed lines', async () => {
    const w = await workDir('');
    cleanups.push(w.cleanup);
    const now = (): Date => new Date(2026, 10, 24, 7, 22, 58);
    const first = new AuditFile(join(w.dir, 'log'), now);
    const second = new AuditFile(join(w.dir, 'log'), now);
    first.write('first run');
    second.write('second run');
    await Promise.all([first.close(), second.close()]);
    expect(first.path).toBe(join(w.dir, 'log', 'audit_20261124_072258.log'));
    expect(second.path).toBe(join(w.dir, 'log', 'audit_20261124_072258_2.log'));
    expect(await readFile(second.path, 'utf8')).toBe('2026-11-24 07:22:58 second run\n');
    expect(await readFile(first.path, 'utf8')).toBe('2026-11-24 07:22:58 first run\n');
  });
});

describe('usage', () => {
  it('-c given twice (or any single-valued option) is a usage error, exit 2', async () => {
    expect(await cli(['run', '-c', 'a.yaml', '-c', 'b.yaml'])).toEqual({
      code: 2,
      stdout: '',
      stderr: 'pgcopy: usage: --config given more than once\n',
    });
    expect(
      (await cli(['plan', '-c', 'a.yaml', '--mode', 'append', '--mode=truncate'])).stderr,
    ).toBe('pgcopy: usage: --mode given more than once\n');
    expect((await cli(['check', '--config=a', '-c', 'b'])).code).toBe(2);
  });
});
