import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VERSION } from '../../src/version.js';
import { cli } from '../support/cli.js';
import { endpointOf } from '../support/config.js';
import { servers, sql, uniqueName } from '../support/db.js';

const schema = uniqueName('JsonAscii');
const q = `"${schema}"`;
const s = servers();
const bin = fileURLToPath(new URL('../../bin/pgcopy.js', import.meta.url));
let dir: string;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** The built bin in a child process with exactly `env` (run `npm run build` after changing src). */
async function pgcopy(args: string[], env: Record<string, string> = {}): Promise<Result> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [bin, ...args], {
      cwd: dir,
      env: { PATH: process.env['PATH'] ?? '', HOME: dir, LANG: 'C.UTF-8', ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** A config file copying `t` (and `w`, which has a column the target lacks: a warning). */
async function configFile(name: string, source = endpointOf(s.source, schema)): Promise<string> {
  const file = join(dir, name);
  await writeFile(
    file,
    stringify({
      source,
      targets: [{ name: 'db_1', ...endpointOf(s.target1, schema), tables: ['t', 'w'] }],
      options: { logDir: 'logs' },
    }),
  );
  return file;
}

async function auditLog(): Promise<string> {
  const logs = join(dir, 'logs');
  const files = (await readdir(logs)).sort();
  const text = await readFile(join(logs, files.at(-1) ?? ''), 'utf8');
  await rm(logs, { recursive: true, force: true });
  return text;
}

// eslint-disable-next-line no-control-regex -- the printable ASCII range and newlines
const NON_ASCII = /[^\x09\x0a\x0d\x20-\x7e]/;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pgcopy-json-ascii-'));
  await sql(
    s.source,
    `CREATE SCHEMA ${q}; CREATE TABLE ${q}.t (id int PRIMARY KEY);
     INSERT INTO ${q}.t SELECT generate_series(1, 20);
     CREATE TABLE ${q}.w (id int, extra int); INSERT INTO ${q}.w VALUES (1, 1);`,
  );
  await sql(
    s.target1,
    `CREATE SCHEMA ${q}; CREATE TABLE ${q}.t (id int PRIMARY KEY); CREATE TABLE ${q}.w (id int);`,
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await sql(s.source, `DROP SCHEMA ${q} CASCADE`);
  await sql(s.target1, `DROP SCHEMA ${q} CASCADE`);
});

describe('--json always ends with run-end or an error object on stdout', () => {
  /** The last line of stdout, parsed. */
  const last = (r: Result): Record<string, unknown> =>
    JSON.parse(r.stdout.trimEnd().split('\n').at(-1) ?? '') as Record<string, unknown>;

  it('bug: a config error printed nothing on stdout; run, plan, verify, check and history end with {"type":"error"}', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(
      bad,
      stringify({ source: { host: 'h' }, targets: [{ name: 'x', tables: [42] }] }),
    );
    for (const command of ['run', 'plan', 'verify', 'check', 'history']) {
      const result = await pgcopy([command, '-c', bad, '--json']);
      expect({ command, code: result.code }).toEqual({ command, code: 2 });
      expect(last(result), command).toMatchObject({
        type: 'error',
        version: VERSION,
        code: 'CONFIG',
        exitCode: 2,
      });
      expect(String(last(result)['message'])).toContain('targets[0]');
    }
  });

  it('bug: a bad flag after --json printed nothing on stdout; it ends with the error object', async () => {
    const file = await configFile('flag.yaml');
    for (const command of ['run', 'plan', 'verify', 'check']) {
      const result = await pgcopy([command, '-c', file, '--json', '--concurency', '2']);
      expect(result.code, command).toBe(2);
      expect(last(result), command).toMatchObject({ type: 'error', code: 'CONFIG', exitCode: 2 });
      expect(String(last(result)['message']), command).toContain('--concurency');
    }
  });

  it('bug: an unreachable source printed nothing on stdout; run, plan and verify end with the error object', async () => {
    const file = await configFile('down.yaml', { ...endpointOf(s.source, schema), port: 1 });
    for (const command of ['run', 'plan', 'verify']) {
      const result = await pgcopy([command, '-c', file, '--json']);
      expect(result.code, command).toBe(1);
      expect(last(result), command).toMatchObject({ type: 'error', code: 'CONNECT', exitCode: 1 });
      expect(String(last(result)['message']), command).toContain('source');
    }
    // check reports the unreachable endpoint as a finding: its JSON is the whole answer.
    const check = await pgcopy(['check', '-c', file, '--json']);
    expect(JSON.parse(check.stdout)).toMatchObject({ version: VERSION, passed: false });
  });
});

describe('every event and JSON document carries the version', () => {
  it('bug: events carried no pgcopy version; every run --json event has version and runId', async () => {
    const file = await configFile('events.yaml');
    const result = await pgcopy(['run', '-c', file, '--mode', 'truncate', '--json']);
    expect(result.code).toBe(0);
    const events = result.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.length).toBeGreaterThan(4);
    expect(
      events.filter((e) => e['version'] !== VERSION || typeof e['runId'] !== 'string'),
    ).toEqual([]);
    expect(events.at(-1)).toMatchObject({ type: 'run-end', report: { version: VERSION } });
    await auditLog();
  });

  it('plan, verify, check and history --json carry the version', async () => {
    const file = await configFile('docs.yaml');
    for (const command of ['plan', 'verify', 'check', 'history']) {
      const result = await pgcopy([command, '-c', file, '--json']);
      expect(JSON.parse(result.stdout), command).toMatchObject({ version: VERSION });
    }
  });
});

describe('output without emoji', () => {
  it('--ascii: run, plan and verify print [OK]/[WARN] markers and no other non-ASCII; the audit log follows --ascii', async () => {
    const file = await configFile('ascii.yaml');
    const run = await pgcopy(['run', '-c', file, '--mode', 'truncate', '--ascii']);
    expect(run.code).toBe(0);
    expect(run.stdout + run.stderr).toMatch(/\[OK\] Done: db_1\.t/);
    expect(run.stdout + run.stderr).toMatch(/\[WARN\] Done with warnings: db_1\.w/);
    expect(run.stdout + run.stderr).not.toMatch(NON_ASCII);
    const log = await auditLog();
    expect(log).toContain('[OK] Done: db_1.t');
    expect(log).not.toMatch(NON_ASCII);
    const plan = await pgcopy(['plan', '-c', file, '--ascii']);
    expect(plan.stdout).toMatch(/\[WARN\] w: /);
    expect(plan.stdout + plan.stderr).not.toMatch(NON_ASCII);
    const verify = await pgcopy(['verify', '-c', file, '--table', 't', '--ascii']);
    expect(verify.stdout).toMatch(/\[OK\] db_1\.t: 20 rows match/);
    expect(verify.stdout + verify.stderr).not.toMatch(NON_ASCII);
  });

  it('a locale that is not UTF-8 (LANG=C, LC_ALL over LANG, none set) prints ASCII; the audit log keeps its emoji', async () => {
    const file = await configFile('locale.yaml');
    const locales: Record<string, string>[] = [
      { LANG: 'C' },
      { LANG: 'en_US.UTF-8', LC_ALL: 'POSIX' },
      { LANG: '', LC_CTYPE: 'de_DE.ISO-8859-1' },
    ];
    for (const env of locales) {
      const run = await pgcopy(['run', '-c', file, '--mode', 'truncate'], env);
      expect(run.code).toBe(0);
      expect(run.stdout + run.stderr, JSON.stringify(env)).toMatch(/\[OK\] Done: db_1\.t/);
      expect(run.stdout + run.stderr).not.toMatch(NON_ASCII);
      expect(await auditLog()).toContain('✅ Done: db_1.t');
    }
    // No locale variable at all is the C locale.
    const bare = await pgcopy(['plan', '-c', file], { LANG: '' });
    expect(bare.stdout).toMatch(/\[WARN\] w: /);
    // A UTF-8 locale named by LC_ALL over a C LANG keeps the emoji.
    const utf8 = await pgcopy(['run', '-c', file, '--mode', 'truncate'], {
      LANG: 'C',
      LC_ALL: 'en_US.utf8',
    });
    expect(utf8.stdout + utf8.stderr).toContain('✅ Done: db_1.t');
    await auditLog();
  });

  it('--ascii on a narrow TTY: a line cut to fit ends in ... and still fits the terminal', async () => {
    const file = await configFile('narrow.yaml');
    const result = await cli(['run', '-c', file, '--mode', 'truncate', '--table', 't', '--ascii'], {
      cwd: dir,
      tty: true,
      columns: 24,
    });
    expect(result.code).toBe(0);
    const escape = String.fromCharCode(27);
    const cut = result.stderr
      .split('\n')
      .map(
        (line) =>
          line
            .split(escape)
            .at(-1)
            ?.replace(/^\[\d*[AJ]/, '') ?? '',
      )
      .filter((line) => line.endsWith('...'));
    expect(cut.length).toBeGreaterThan(0);
    for (const line of cut) expect(line.length, line).toBeLessThan(24);
    expect(result.stderr.replaceAll(escape, '')).not.toMatch(NON_ASCII);
    await auditLog();
  });
});
