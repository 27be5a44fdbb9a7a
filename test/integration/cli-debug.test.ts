import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endpointOf } from '../support/config.js';
import { servers, sql, uniqueName } from '../support/db.js';

const schema = uniqueName('Debug');
const q = `"${schema}"`;
const s = servers();
const bin = fileURLToPath(new URL('../../bin/pgcopy.js', import.meta.url));
let dir: string;

/** The built bin in a child process with exactly `env` (run `npm run build` after changing src). */
async function pgcopy(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [bin, ...args], {
      cwd: dir,
      env: { PATH: process.env['PATH'] ?? '', LANG: 'C.UTF-8', HOME: dir, ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

function without(object: Record<string, unknown>, key: string): Record<string, unknown> {
  return Object.fromEntries(Object.entries(object).filter(([k]) => k !== key));
}

/**
 * The source's password from PGPASSWORD (or the secrets file), db_1's from ~/.pgpass, db_2's from
 * the config: each source of a password in one run.
 */
async function writeConfig(
  name: string,
  options: Record<string, unknown>,
  source: Record<string, unknown> = without(endpointOf(s.source, schema), 'password'),
  extra: Record<string, unknown> = {},
): Promise<string> {
  const file = join(dir, name);
  await writeFile(
    file,
    stringify({
      source,
      targets: [
        { name: 'db_1', ...without(endpointOf(s.target1, schema), 'password'), tables: ['t'] },
        { name: 'db_2', ...endpointOf(s.target2, schema), tables: ['t'] },
      ],
      options: { logDir: 'logs', createExtensions: true, ...options },
      ...extra,
    }),
  );
  return file;
}

const passwords = (): string[] => [s.source.password, s.target1.password, s.target2.password];

function expectNoPassword(output: string): void {
  for (const password of passwords()) expect(output).not.toContain(password);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pgcopy-debug-'));
  await writeFile(join(dir, '.pgpass'), `*:${s.target1.port}:*:*:${s.target1.password}\n`);
  await chmod(join(dir, '.pgpass'), 0o600);
  await sql(
    s.source,
    `CREATE SCHEMA ${q}; CREATE TABLE ${q}.t (id int PRIMARY KEY, v text);
     INSERT INTO ${q}.t SELECT g, 'secret-value-' || g FROM generate_series(1, 50) g;`,
  );
  for (const target of [s.target1, s.target2]) {
    await sql(target, `CREATE SCHEMA ${q}; CREATE TABLE ${q}.t (id int PRIMARY KEY, v text);`);
  }
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  for (const server of [s.source, s.target1, s.target2]) {
    await sql(server, `DROP SCHEMA ${q} CASCADE`);
  }
});

describe('--debug prints every statement sent, with no password and no value', () => {
  for (const strategy of ['stream', 'dblink', 'fdw', 'fdw-push']) {
    it(`run --debug (${strategy}): BEGIN, COPY, COMMIT and the ledger INSERT per endpoint; no password from PGPASSWORD, ~/.pgpass or the config`, async () => {
      const file = await writeConfig(`${strategy}.yaml`, { strategy });
      const result = await pgcopy(['run', '-c', file, '--mode', 'truncate', '--debug'], {
        PGPASSWORD: s.source.password,
      });
      expect(result.stderr).not.toContain('unexpected');
      expect(result.code).toBe(0);
      const lines = result.stderr.split('\n');
      const debug = (endpoint: string, pattern: RegExp): boolean =>
        lines.some((l) => l.startsWith(`pgcopy: debug: ${endpoint}: `) && pattern.test(l));
      for (const target of ['db_1', 'db_2']) {
        expect(debug(target, /^pgcopy: debug: \S+: BEGIN\b/), `${target} BEGIN`).toBe(true);
        expect(debug(target, /\bCOMMIT\b/), `${target} COMMIT`).toBe(true);
        // The ledger's INSERT; fdw-push sends it through the source's foreign table of the ledger.
        const ledgerVia = strategy === 'fdw-push' ? 'source' : target;
        expect(debug(ledgerVia, /\bINSERT INTO \S+ \("run_id"/), `${target} ledger`).toBe(true);
      }
      if (strategy === 'stream') {
        expect(debug('source', /\bCOPY\b.*\bTO STDOUT\b/)).toBe(true);
        expect(debug('db_1', /\bCOPY\b.*\bFROM STDIN\b/)).toBe(true);
      } else {
        // The server-side strategies' link: their secret is staged, never in a statement.
        expect(result.stderr).toMatch(
          strategy === 'dblink' ? /: .*dblink/ : /: .*(CREATE FOREIGN TABLE|USER MAPPING|_fdw)/,
        );
      }
      // --debug says the steps too (it includes --verbose).
      expect(result.stderr).toContain('pgcopy: source: connecting to source (');
      expect(result.stderr).toMatch(/pgcopy: db_1\.t: copying from t \(truncate/);
      expectNoPassword(result.stderr + result.stdout);
      // Row values are data: literals are printed as '…'.
      expect(result.stderr).not.toContain('secret-value-');
    });
  }

  it('plan, verify, check and history --debug: no password from a secrets file', async () => {
    const secrets = join(dir, 'secrets.json');
    await writeFile(
      secrets,
      JSON.stringify({
        source: {
          host: s.source.host,
          port: s.source.port,
          username: s.source.user,
          password: s.source.password,
          dbname: 'postgres',
        },
      }),
    );
    const file = await writeConfig(
      'secrets.yaml',
      {},
      { secret: 'source', schema, sslmode: 'disable' },
      { secrets: { provider: 'file', file: secrets } },
    );
    for (const command of ['plan', 'verify', 'check', 'history']) {
      const result = await pgcopy([command, '-c', file, '--debug'], {});
      expect(result.stderr, command).toMatch(/^pgcopy: debug: (source|db_1): \S/m);
      expectNoPassword(result.stderr + result.stdout);
    }
  });

  it('--verbose says the steps without the statements', async () => {
    const file = await writeConfig('verbose.yaml', {});
    const result = await pgcopy(['run', '-c', file, '--mode', 'truncate', '--verbose'], {
      PGPASSWORD: s.source.password,
    });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('pgcopy: source: connecting to source (');
    expect(result.stderr).toContain('pgcopy: source: reading the catalogs of 1 table(s)');
    expect(result.stderr).toContain('pgcopy: source: opening the snapshot');
    expect(result.stderr).toMatch(/pgcopy: db_2\.t: done, 50 row\(s\)/);
    expect(result.stderr).not.toContain('pgcopy: debug:');
  });
});
