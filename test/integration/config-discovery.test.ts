import { chmod, chown, rename, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { cli, workDir } from '../support/cli.js';
import { endpointOf } from '../support/config.js';
import { servers, sql, uniqueName } from '../support/db.js';

const schema = uniqueName('Discover');
const q = `"${schema}"`;
const s = servers();

const config = {
  source: endpointOf(s.source, schema),
  targets: [{ name: 'db_1', ...endpointOf(s.target1, schema), tables: ['t'] }],
};

beforeAll(async () => {
  await sql(s.source, `CREATE SCHEMA ${q}; CREATE TABLE ${q}.t (id int)`);
  await sql(s.target1, `CREATE SCHEMA ${q}; CREATE TABLE ${q}.t (id int)`);
});

afterAll(async () => {
  await sql(s.source, `DROP SCHEMA ${q} CASCADE`);
  await sql(s.target1, `DROP SCHEMA ${q} CASCADE`);
});

describe('config discovery when -c is omitted (bug: -c was always required)', () => {
  it('reads ./pgcopy.yaml, then ./pgcopy.yml, then ./pgcopy.json from the working directory', async () => {
    const w = await workDir(config);
    try {
      const yaml = await cli(['plan', '--json'], { cwd: w.dir });
      // A config pgcopy found by itself is named, so that nobody runs a stranger's config unawares.
      expect(yaml.stderr).toBe(`pgcopy: config: ${w.file}\n`);
      expect(yaml.code).toBe(0);
      expect(yaml.stdout).toContain('"db_1"');

      await rename(w.file, join(w.dir, 'pgcopy.yml'));
      expect((await cli(['plan'], { cwd: w.dir })).code).toBe(0);

      await rename(join(w.dir, 'pgcopy.yml'), join(w.dir, 'pgcopy.json'));
      expect((await cli(['check'], { cwd: w.dir })).code).toBe(0);
    } finally {
      await w.cleanup();
    }
  });

  it('PGCOPY_CONFIG wins over ./pgcopy.yaml, relative to the working directory', async () => {
    const w = await workDir({ source: { host: 'h' }, targets: 'not a list' });
    try {
      await writeFile(join(w.dir, 'chosen.yaml'), stringify(config));
      const result = await cli(['plan'], { cwd: w.dir, env: { PGCOPY_CONFIG: 'chosen.yaml' } });
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      // -c wins over both.
      const explicit = await cli(['plan', '-c', w.file], {
        cwd: w.dir,
        env: { PGCOPY_CONFIG: 'chosen.yaml' },
      });
      expect(explicit.code).toBe(2);
    } finally {
      await w.cleanup();
    }
  });

  it('bug: PGCOPY_CONFIG holding the config itself (as an ECS task passes it) was read as a file name', async () => {
    const w = await workDir({ source: { host: 'h' }, targets: 'not a list' });
    try {
      const { password, ...source } = config.source;
      const withVariable = { ...config, source: { ...source, password: '${SOURCE_PASSWORD}' } };
      const env = { SOURCE_PASSWORD: String(password) };
      for (const text of [JSON.stringify(withVariable), `\n${stringify(withVariable)}`]) {
        const result = await cli(['plan', '--json'], {
          cwd: w.dir,
          env: { ...env, PGCOPY_CONFIG: text },
        });
        expect(result.stderr).toBe('');
        expect(result.code).toBe(0);
        expect(result.stdout).toContain('"db_1"');
      }
      // Its errors name the variable, and exit 2 as a file's do.
      const unset = await cli(['plan'], {
        cwd: w.dir,
        env: { PGCOPY_CONFIG: JSON.stringify(withVariable) },
      });
      expect(unset.code).toBe(2);
      expect(unset.stderr).toContain('PGCOPY_CONFIG: source.password: environment variable');
      // -c still wins over it.
      const explicit = await cli(['plan', '-c', w.file], {
        cwd: w.dir,
        env: { ...env, PGCOPY_CONFIG: JSON.stringify(withVariable) },
      });
      expect(explicit.code).toBe(2);
    } finally {
      await w.cleanup();
    }
  });

  it('lists every place it tried when no config is found, and exits 2', async () => {
    const w = await workDir('');
    try {
      await rename(w.file, join(w.dir, 'other.yaml'));
      const result = await cli(['run'], { cwd: w.dir });
      expect(result.code).toBe(2);
      expect(result.stderr).toBe(
        `pgcopy: usage: no config file found; tried -c/--config (not given), PGCOPY_CONFIG (not set), ` +
          `${join(w.dir, 'pgcopy.yaml')}, ${join(w.dir, 'pgcopy.yml')}, ${join(w.dir, 'pgcopy.json')}\n`,
      );
    } finally {
      await w.cleanup();
    }
  });
});

describe('bug: a ./pgcopy.yaml of another user, or writable by anyone, was used without a word', () => {
  /** A TCP server standing in for the database the file names: it only counts connections. */
  async function listener(): Promise<{
    port: number;
    connections: () => number;
    close: () => Promise<void>;
  }> {
    let count = 0;
    const server = createServer((socket) => {
      count += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      port: (server.address() as AddressInfo).port,
      connections: () => count,
      close: () => new Promise((resolve) => server.close(() => resolve())),
    };
  }

  const lure = (port: number): Record<string, unknown> => ({
    source: { ...endpointOf(s.source, schema), port },
    targets: [{ name: 'db_1', ...endpointOf(s.target1, schema), port, tables: ['t'] }],
  });

  it.each([
    [
      'writable by others',
      async (file: string) => chmod(file, 0o666),
      /group or others may write it \(mode 0666\)/,
    ],
    [
      'writable by its group',
      async (file: string) => chmod(file, 0o664),
      /group or others may write it \(mode 0664\)/,
    ],
    [
      'owned by another user',
      async (file: string) => chown(file, 65534, 65534),
      /it is owned by another user \(uid 65534\)/,
    ],
  ])(
    'a found config %s is refused (exit 2) before any connection, with every command',
    async (_what, spoil, why) => {
      const server = await listener();
      const w = await workDir(lure(server.port));
      try {
        await chmod(w.file, 0o644);
        await spoil(w.file);
        for (const command of ['run', 'plan', 'check', 'verify']) {
          const result = await cli([command], { cwd: w.dir });
          expect(result.code, command).toBe(2);
          expect(result.stderr, command).toMatch(why);
          expect(result.stderr, command).toContain(`${w.file} was found in the working directory`);
        }
        expect(server.connections()).toBe(0);
      } finally {
        await w.cleanup();
        await server.close();
      }
    },
  );

  it('the same file named with -c (or PGCOPY_CONFIG) is read, with a warning that says why it is unsafe', async () => {
    const w = await workDir(config);
    try {
      await chmod(w.file, 0o666);
      for (const how of [
        { argv: ['plan', '-c', w.file], env: {} },
        { argv: ['plan'], env: { PGCOPY_CONFIG: w.file } },
      ]) {
        const result = await cli(how.argv, { cwd: w.dir, env: how.env });
        expect(result.code).toBe(0);
        expect(result.stderr).toBe(
          `pgcopy: warning: ${w.file}: group or others may write it (mode 0666)\n`,
        );
      }
    } finally {
      await w.cleanup();
    }
  });
});

describe('per-command help (bug: pgcopy run --help printed the global text)', () => {
  it('prints the usage and options of the command asked about', async () => {
    const run = await cli(['run', '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage:\n {2}pgcopy run /);
    expect(run.stdout).toContain('--concurrency N');
    expect(run.stdout).not.toContain('pgcopy fingerprint');
    const check = await cli(['check', '-h']);
    expect(check.stdout).toMatch(/^Usage:\n {2}pgcopy check /);
    expect(check.stdout).not.toContain('--concurrency');
    expect((await cli(['--help'])).stdout).toContain('pgcopy fingerprint HOST[:PORT]');
  });
});
