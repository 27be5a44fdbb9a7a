import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliWithConfig } from '../support/cli.js';
import { endpointOf } from '../support/config.js';
import { servers, sql, uniqueName } from '../support/db.js';
import { startSshServer } from '../support/ssh-server.js';

const s = servers();
const schema = uniqueName('Libpq');
const q = `"${schema}"`;
let dir: string;

/** The source server as libpq's variables name it. */
const pgEnv = (): Record<string, string> => ({
  PGHOST: s.source.host,
  PGPORT: String(s.source.port),
  PGDATABASE: 'postgres',
  PGUSER: s.source.user,
  PGPASSWORD: s.source.password,
  PGSSLMODE: 'disable',
});

/** The object without one key. */
function without(object: Record<string, unknown>, key: string): Record<string, unknown> {
  return Object.fromEntries(Object.entries(object).filter(([k]) => k !== key));
}

/** A target on target1 with no password of its own. */
const target = (extra: Record<string, unknown> = {}): Record<string, unknown> => {
  const rest = without(endpointOf(s.target1, schema), 'password');
  return { name: 'db_1', ...rest, tables: ['t'], ...extra };
};
const targetWithPassword = { name: 'db_1', ...endpointOf(s.target1, schema), tables: ['t'] };

async function pgpassFile(lines: string[], mode = 0o600): Promise<string> {
  const file = join(dir, `pgpass-${Math.random().toString(36).slice(2)}`);
  await writeFile(file, lines.join('\n') + '\n');
  await chmod(file, mode);
  return file;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pgcopy-libpq-'));
  for (const server of [s.source, s.target1]) {
    await sql(server, `CREATE SCHEMA ${q}; CREATE TABLE ${q}.t (id int)`);
  }
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  for (const server of [s.source, s.target1]) await sql(server, `DROP SCHEMA ${q} CASCADE`);
});

describe('bug: PG* variables worked only by accident; they fill the source fields the config leaves out', () => {
  it('a source given by PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD and PGSSLMODE alone', async () => {
    const result = await cliWithConfig(
      'plan',
      { source: { schema }, targets: [targetWithPassword] },
      { env: pgEnv() },
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it('precedence: the config wins over PG*, PG* over the defaults', async () => {
    // PGPORT and PGPASSWORD are wrong, the config's are right: the config wins.
    const wrong = { ...pgEnv(), PGPORT: '1', PGPASSWORD: 'not-it' };
    const fromConfig = await cliWithConfig(
      'plan',
      { source: endpointOf(s.source, schema), targets: [targetWithPassword] },
      { env: wrong },
    );
    expect(fromConfig.stderr).toBe('');
    expect(fromConfig.code).toBe(0);
    // The config leaves the port out: PGPORT beats the default 5432.
    const noPort = without(endpointOf(s.source, schema), 'port');
    const portFromEnv = await cliWithConfig(
      'plan',
      { source: noPort, targets: [targetWithPassword] },
      { env: { PGPORT: String(s.source.port) } },
    );
    expect(portFromEnv.stderr).toBe('');
    expect(portFromEnv.code).toBe(0);
  });

  it('precedence: a secret wins over PG*', async () => {
    const secret = {
      host: s.source.host,
      port: s.source.port,
      username: s.source.user,
      password: s.source.password,
      dbname: 'postgres',
    };
    const result = await cliWithConfig(
      'plan',
      {
        secrets: { provider: 'env' },
        source: { secretId: 'pgcopy/source', schema, sslmode: 'disable' },
        targets: [targetWithPassword],
      },
      {
        env: {
          ...pgEnv(),
          PGPORT: '1',
          PGPASSWORD: 'not-it',
          PGCOPY_SECRET_PGCOPY_SOURCE: JSON.stringify(secret),
        },
      },
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it('PG* never reach a target: PGPASSWORD is not a target password', async () => {
    const result = await cliWithConfig(
      'check',
      { source: endpointOf(s.source, schema), targets: [target()] },
      { env: { PGPASSWORD: s.target1.password } },
    );
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      'no password for endpoint db_1 (the server asks for one; looked in: targets[0].password, targets[0].url)',
    );
  });

  it('a source without any host names PGHOST in the error; a bad PGPORT is a config error', async () => {
    const none = await cliWithConfig(
      'plan',
      { source: { schema }, targets: [targetWithPassword] },
      { env: {} },
    );
    expect(none).toMatchObject({
      code: 2,
      stderr: 'pgcopy: source.host: is required (give it, a url, a secret, a service, or PGHOST)\n',
    });
    const port = await cliWithConfig(
      'plan',
      { source: { schema }, targets: [targetWithPassword] },
      { env: { ...pgEnv(), PGPORT: '5432x' } },
    );
    expect(port).toMatchObject({
      code: 2,
      stderr: 'pgcopy: PGPORT: expected a port from 1 to 65535, got "5432x"\n',
    });
    const sslmode = await cliWithConfig(
      'plan',
      { source: { schema }, targets: [targetWithPassword] },
      { env: { ...pgEnv(), PGSSLMODE: 'sometimes' } },
    );
    expect(sslmode.stderr).toContain('PGSSLMODE: expected one of disable, prefer, require');
  });
});

describe('bug: ~/.pgpass worked only through pg fallback; it is read explicitly for every endpoint', () => {
  it('PGPASSFILE gives a target its password, matched on host, port, database and user', async () => {
    const { host, port, user, password } = s.target1;
    const file = await pgpassFile([
      '# comments and near misses first',
      `${host}:${port + 1}:postgres:${user}:wrong-port`,
      `${host}:${port}:other:${user}:wrong-database`,
      `${host}:${port}:postgres:${user}:${password.replace(/\\/g, '\\\\').replace(/:/g, '\\:')}`,
      '*:*:*:*:catch-all-comes-too-late',
    ]);
    const result = await cliWithConfig(
      'check',
      { source: endpointOf(s.source, schema), targets: [target()] },
      { env: { PGPASSFILE: file } },
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it('~/.pgpass (HOME) when PGPASSFILE is not set; a wildcard line matches', async () => {
    const home = await mkdtemp(join(dir, 'home-'));
    await writeFile(join(home, '.pgpass'), `*:${s.target1.port}:*:*:${s.target1.password}\n`);
    await chmod(join(home, '.pgpass'), 0o600);
    const result = await cliWithConfig(
      'check',
      { source: endpointOf(s.source, schema), targets: [target()] },
      { env: { HOME: home } },
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it('a file others may read is ignored, as libpq does, and the error says why', async () => {
    const file = await pgpassFile([`*:*:*:*:${s.target1.password}`], 0o644);
    const result = await cliWithConfig(
      'check',
      { source: endpointOf(s.source, schema), targets: [target()] },
      { env: { PGPASSFILE: file } },
    );
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      `looked in: targets[0].password, targets[0].url, ${file} (ignored: readable by group or others; chmod 600 it)`,
    );
    expect(result.stdout + result.stderr).not.toContain(s.target1.password);
  });

  it('the config password wins over the password file; PGPASSWORD wins for the source', async () => {
    const file = await pgpassFile(['*:*:*:*:wrong-from-pgpass']);
    const sourceNoPassword = without(endpointOf(s.source, schema), 'password');
    const result = await cliWithConfig(
      'check',
      { source: sourceNoPassword, targets: [targetWithPassword] },
      { env: { PGPASSFILE: file, PGPASSWORD: s.source.password } },
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });
});

describe('the password file is keyed by the endpoint, never by a tunnel', () => {
  it("a target through an SSH tunnel gets the line of its real host and port, not the tunnel's", async () => {
    const ssh = await startSshServer();
    try {
      const keyFile = join(dir, 'tunnel-key');
      await writeFile(keyFile, ssh.clientKey.private, { mode: 0o600 });
      const { host, port, user, password } = s.target1;
      const file = await pgpassFile([`${host}:${port}:postgres:${user}:${password}`]);
      const result = await cliWithConfig(
        'check',
        {
          source: endpointOf(s.source, schema),
          targets: [
            target({
              ssh: {
                host: ssh.host,
                port: ssh.port,
                user: ssh.user,
                fingerprint: ssh.fingerprint,
                keyFile,
              },
            }),
          ],
        },
        { env: { PGPASSFILE: file } },
      );
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(ssh.forwards).toBeGreaterThan(0);
    } finally {
      await ssh.stop();
    }
  });
});

describe('service: reads pg_service.conf like libpq', () => {
  async function serviceFile(text: string): Promise<string> {
    const file = join(dir, `service-${Math.random().toString(36).slice(2)}.conf`);
    await writeFile(file, text);
    return file;
  }
  const section = (name: string, server: typeof s.source, port = server.port): string =>
    [
      `[${name}]`,
      `# ${name}'s server`,
      `host=${server.host}`,
      `port=${port}`,
      'dbname=postgres',
      `user=${server.user}`,
      `password=${server.password}`,
      'sslmode=disable',
      '',
    ].join('\n');

  it('a target named by service alone; the source by PGSERVICE; PGSERVICEFILE names the file', async () => {
    const file = await serviceFile(section('src', s.source) + section('tgt', s.target1));
    const result = await cliWithConfig(
      'check',
      { source: { schema }, targets: [{ name: 'db_1', service: 'tgt', schema, tables: ['t'] }] },
      { env: { PGSERVICEFILE: file, PGSERVICE: 'src' } },
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it('precedence: the config wins over the service, the service over PG*', async () => {
    const file = await serviceFile(section('tgt', s.target1, 1) + section('src', s.source));
    const result = await cliWithConfig(
      'check',
      {
        source: { service: 'src', schema },
        targets: [{ name: 'db_1', service: 'tgt', port: s.target1.port, schema, tables: ['t'] }],
      },
      { env: { PGSERVICEFILE: file, PGPORT: '1', PGPASSWORD: 'not-it', PGHOST: 'nowhere' } },
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it('~/.pg_service.conf, then PGSYSCONFDIR/pg_service.conf; an unknown service lists the files', async () => {
    const home = await mkdtemp(join(dir, 'home-'));
    const sysconf = await mkdtemp(join(dir, 'etc-'));
    await writeFile(join(home, '.pg_service.conf'), section('src', s.source));
    await writeFile(join(sysconf, 'pg_service.conf'), section('tgt', s.target1));
    const config = (name: string) => ({
      source: { service: 'src', schema },
      targets: [{ name: 'db_1', service: name, schema, tables: ['t'] }],
    });
    const env = { HOME: home, PGSYSCONFDIR: sysconf };
    const found = await cliWithConfig('check', config('tgt'), { env });
    expect(found.stderr).toBe('');
    expect(found.code).toBe(0);
    const missing = await cliWithConfig('check', config('nope'), { env });
    expect(missing).toMatchObject({
      code: 2,
      stderr: `pgcopy: targets[0].service: service "nope" not found in ${join(home, '.pg_service.conf')}, ${join(sysconf, 'pg_service.conf')}\n`,
    });
    // PGSERVICEFILE takes the place of ~/.pg_service.conf.
    const bad = await serviceFile(section('src', s.source) + '[x]\nport=abc\n');
    const badPort = await cliWithConfig('check', config('x'), {
      env: { ...env, PGSERVICEFILE: bad },
    });
    expect(badPort.stderr).toBe(
      `pgcopy: ${bad} [x]: port: expected a port from 1 to 65535, got "abc"\n`,
    );
  });
});
