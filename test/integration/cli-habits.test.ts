import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VERSION } from '../../src/version.js';
import { workDir } from '../support/cli.js';
import { endpointOf } from '../support/config.js';
import { servers, sql, uniqueName } from '../support/db.js';

const schema = uniqueName('Habits');
const q = `"${schema}"`;
const s = servers();
const bin = fileURLToPath(new URL('../../bin/pgcopy.js', import.meta.url));
const cleanups: (() => Promise<void>)[] = [];

/** The built bin in a child process, as a user types it (run `npm run build` after changing src). */
async function pgcopy(
  args: string[],
  cwd?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [bin, ...args], {
      ...(cwd ? { cwd } : {}),
      timeout: 30_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function targetRows(): Promise<number> {
  const { rows } = await sql(s.target1, `SELECT count(*)::int AS n FROM ${q}.t`);
  return (rows[0] as { n: number }).n;
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

describe('the conventions people type by habit', () => {
  it("bug: -V (pg_dump's version flag) was an unknown command; -V, --version and -v print the version", async () => {
    for (const flag of ['-V', '--version', '-v']) {
      expect(await pgcopy([flag])).toEqual({ code: 0, stdout: `pgcopy ${VERSION}\n`, stderr: '' });
    }
    expect((await pgcopy(['--help'])).stdout).toMatch(/^ {2}-V, --version {7}the version$/m);
  });

  it("bug: pgcopy help run printed the global help; help COMMAND prints that command's", async () => {
    for (const name of ['plan', 'run', 'verify', 'fingerprint', 'init', 'check']) {
      const help = await pgcopy(['help', name]);
      expect(help.code).toBe(0);
      expect(help.stdout).toBe((await pgcopy([name, '--help'])).stdout);
      expect(help.stdout).toContain(`pgcopy ${name} `);
    }
    expect((await pgcopy(['help', 'run'])).stdout).toContain('--concurrency N');
    expect((await pgcopy(['help', 'run'])).stdout).not.toContain('pgcopy verify');
    const global = await pgcopy(['help']);
    expect(global).toMatchObject({ code: 0, stdout: (await pgcopy(['--help'])).stdout });
    expect(await pgcopy(['help', 'rnu'])).toEqual({
      code: 2,
      stdout: '',
      stderr: 'pgcopy: unknown command "rnu"; did you mean "run"?\n',
    });
    expect((await pgcopy(['help', 'run', 'plan'])).code).toBe(2);
  });

  it('bug: a mistyped command got no suggestion; it gets the nearest command', async () => {
    expect(await pgcopy(['verfiy'])).toEqual({
      code: 2,
      stdout: '',
      stderr: 'pgcopy: unknown command "verfiy"; did you mean "verify"?\n',
    });
    expect((await pgcopy(['hlep'])).stderr).toBe(
      'pgcopy: unknown command "hlep"; did you mean "help"?\n',
    );
    expect((await pgcopy(['--verison'])).stderr).toBe(
      'pgcopy: usage: unknown option --verison; did you mean --version?\n',
    );
    expect((await pgcopy(['-x'])).stderr).toBe(
      'pgcopy: usage: unknown option -x (try pgcopy --help)\n',
    );
  });

  it("bug: a mistyped flag got node's raw parser message; every command names the nearest option", async () => {
    const cases: [string[], string][] = [
      [['plan', '--tabel', 't'], '--tabel; did you mean --table?'],
      [['run', '--dryrun'], '--dryrun; did you mean --dry-run?'],
      [['verify', '--jsno'], '--jsno; did you mean --json?'],
      [['check', '--confg', 'x'], '--confg; did you mean --config?'],
      [['init', '--sorce', 'x'], '--sorce; did you mean --source?'],
      [['run', '--hepl'], '--hepl; did you mean --help?'],
      [['fingerprint', '--port', '22', 'h'], '--port'],
    ];
    for (const [args, message] of cases) {
      expect(await pgcopy(args)).toEqual({
        code: 2,
        stdout: '',
        stderr: `pgcopy: usage: unknown option ${message}\n`,
      });
    }
  });

  it('run --concurency copies nothing and names --concurrency, which then copies', async () => {
    const w = await workDir({
      source: endpointOf(s.source, schema),
      targets: [{ name: 'db_1', ...endpointOf(s.target1, schema), tables: ['t'] }],
      options: { mode: 'truncate', logDir: 'logs' },
    });
    cleanups.push(w.cleanup);
    const typo = await pgcopy(['run', '-c', w.file, '--quiet', '--concurency', '2'], w.dir);
    expect(typo).toEqual({
      code: 2,
      stdout: '',
      stderr: 'pgcopy: usage: unknown option --concurency; did you mean --concurrency?\n',
    });
    expect(await targetRows()).toBe(0);
    const fixed = await pgcopy(['run', '-c', w.file, '--quiet', '--concurrency', '2'], w.dir);
    expect(fixed.code).toBe(0);
    expect(await targetRows()).toBe(100);
  });
});
