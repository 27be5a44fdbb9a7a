import { execFileSync } from 'node:child_process';
import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnPgcopy } from '../support/child-pgcopy.js';
import { endpointOf } from '../support/config.js';
import { servers, sql, uniqueName } from '../support/db.js';

const s = servers();
const schema = uniqueName('OperatorFiles');
const q = `"${schema}"`;
let dir: string;
let fifo: string;

const target = { name: 'db_1', ...endpointOf(s.target1, schema), tables: ['t'] };
const config = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  source: endpointOf(s.source, schema),
  targets: [target],
  ...extra,
});

async function configFile(content: Record<string, unknown>): Promise<string> {
  const file = join(dir, `pgcopy-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(file, stringify(content));
  return file;
}

/** Runs the real bin; a hang is a null exit code after `ms` (the child is then killed). */
async function pgcopy(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stderr: string }> {
  const child = spawnPgcopy(args, dir, { ...process.env, ...env });
  const code = await child.exitWithin(10_000);
  return { code, stderr: child.stderr() };
}

beforeAll(async () => {
  // Under /tmp with no private parent: the FIFO must be reachable by path.
  dir = await mkdtemp(join(tmpdir(), 'pgcopy-files-'));
  fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  for (const server of [s.source, s.target1]) {
    await sql(server, `CREATE SCHEMA ${q}; CREATE TABLE ${q}.t (id int)`);
  }
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  for (const server of [s.source, s.target1]) await sql(server, `DROP SCHEMA ${q} CASCADE`);
});

describe('bug: a FIFO or a device named as a file pgcopy reads hung the process for good', () => {
  // Each special file in each place pgcopy reads a file from: exit 2 within seconds, naming it.
  const specials = (): [string, string][] => [
    ['a FIFO', fifo],
    ['a device', '/dev/zero'],
    ['a directory', dir],
  ];

  it.each(specials().map(([kind]) => kind))('%s as the config file (-c)', async (kind) => {
    const path = specials().find(([k]) => k === kind)?.[1] as string;
    const result = await pgcopy(['plan', '-c', path]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`--config: cannot read ${path} (it is ${kind}`);
  });

  it.each(specials().map(([kind]) => kind))('%s as each other file pgcopy reads', async (kind) => {
    const path = specials().find(([k]) => k === kind)?.[1] as string;
    const noPassword = Object.fromEntries(Object.entries(target).filter(([k]) => k !== 'password'));
    const cases: { what: string; key: string; args: string[]; env?: NodeJS.ProcessEnv }[] = [
      {
        what: 'the password file',
        key: 'password file',
        args: ['plan', '-c', await configFile({ ...config(), targets: [noPassword] })],
        env: { PGPASSFILE: path },
      },
      {
        what: 'the service file',
        key: 'source.service',
        args: [
          'plan',
          '-c',
          await configFile(config({ source: { service: 'src', schema, sslmode: 'disable' } })),
        ],
        env: { PGSERVICEFILE: path },
      },
      {
        what: 'an SSH key file',
        key: 'ssh.keyFile',
        args: [
          'plan',
          '-c',
          await configFile(
            config({
              source: {
                ...endpointOf(s.source, schema),
                ssh: {
                  host: '127.0.0.1',
                  port: 22,
                  user: 'x',
                  fingerprint: 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
                  keyFile: path,
                },
              },
            }),
          ),
        ],
      },
      {
        what: 'a CA file',
        key: 'sslrootcert',
        args: [
          'plan',
          '-c',
          await configFile(
            config({
              source: {
                ...endpointOf(s.source, schema),
                sslmode: 'verify-full',
                sslrootcert: path,
              },
            }),
          ),
        ],
      },
      {
        what: 'the secrets file',
        key: 'secrets.file',
        args: [
          'plan',
          '-c',
          await configFile({
            secrets: { provider: 'file', prefix: 'pgcopy', env: 'dev', file: path },
            source: { secret: 'source', schema, sslmode: 'disable' },
            targets: [target],
          }),
        ],
      },
      {
        what: 'a report to resume',
        key: '--resume',
        args: ['run', '-c', await configFile(config()), '--resume', path],
      },
    ];
    for (const c of cases) {
      const result = await pgcopy(c.args, c.env);
      expect({ what: c.what, code: result.code }).toEqual({ what: c.what, code: 2 });
      expect(result.stderr, c.what).toMatch(
        new RegExp(`${c.key.replace(/\./g, '\\.')}[^\\n]*cannot read ${path} \\(it is ${kind}`),
      );
    }
  });

  it('a regular file larger than pgcopy reads is refused before it is read', async () => {
    const big = join(dir, 'big.yaml');
    await writeFile(big, '#'.repeat(17 * 1024 * 1024));
    const result = await pgcopy(['plan', '-c', big]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--config: cannot read .*big\.yaml \(it is \d+ bytes, more than/);
  });
});

describe('bug: --report FILE followed a symbolic link and kept the mode of the file it overwrote', () => {
  it('a report path that is a symbolic link is refused before any connection; the link target is untouched', async () => {
    const victim = join(dir, 'victim.txt');
    await writeFile(victim, 'keep me\n', { mode: 0o644 });
    const link = join(dir, 'report-link.json');
    await symlink(victim, link);
    const result = await pgcopy(['run', '-c', await configFile(config()), '--report', link]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`--report: ${link} is a symbolic link`);
    expect(await readFile(victim, 'utf8')).toBe('keep me\n');
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
  });

  it('a report over an existing world-writable file is a new file of pgcopy own mode; no temporary file stays', async () => {
    const reports = join(dir, 'reports');
    await mkdir(reports);
    const report = join(reports, 'report.json');
    await writeFile(report, 'old\n');
    await chmod(report, 0o666);
    const before = await stat(report);
    const result = await pgcopy(['run', '-c', await configFile(config()), '--report', report]);
    expect(result.stderr).not.toContain('cannot write');
    expect(result.code).toBe(0);
    const after = await stat(report);
    expect(after.mode & 0o777).toBe(0o640);
    expect(after.ino).not.toBe(before.ino);
    expect(JSON.parse(await readFile(report, 'utf8'))).toMatchObject({ tables: [{ rows: 0 }] });
    expect(await readdir(reports)).toEqual(['report.json']);
  });

  it('a report path that is a directory or a FIFO is a usage error before any connection', async () => {
    for (const path of [dir, fifo]) {
      const result = await pgcopy(['run', '-c', await configFile(config()), '--report', path]);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/--report: cannot write .* \(it is a (directory|FIFO)\)/);
    }
  });

  it('a run that fails before its report is written leaves no temporary file beside it', async () => {
    const reports = join(dir, 'failed-reports');
    await mkdir(reports);
    const bad = await configFile({
      ...config(),
      targets: [{ ...target, port: 1 }],
    });
    await pgcopy(['run', '-c', bad, '--report', join(reports, 'r.json')]);
    // The stopped run's report is written; nothing else is left.
    expect(await readdir(reports)).toEqual(['r.json']);
  });
});
