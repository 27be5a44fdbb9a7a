import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliWithConfig } from '../support/cli.js';
import { endpointOf } from '../support/config.js';
import { servers, sql, uniqueName } from '../support/db.js';
import { startFakeAuthServer, type FakeAuthServer } from '../support/fake-pg-auth-server.js';

const s = servers();
const schema = uniqueName('creds');
const role = uniqueName('cred_role').toLowerCase();
/** Every character that splits a URL, and a malformed escape. */
const hardPassword = 'p@ss:w/rd?Leak3dPart#%zz& x';

/** `check` of a config whose source is the real source server; returns the CLI result. */
function check(config: Record<string, unknown>, env: Record<string, string> = {}) {
  return cliWithConfig('check', { source: endpointOf(s.source, schema), ...config }, { env });
}

beforeAll(async () => {
  for (const server of [s.source, s.target1]) {
    await sql(server, `CREATE SCHEMA "${schema}"; CREATE TABLE "${schema}".t (id int)`);
  }
  await sql(
    s.target1,
    `CREATE ROLE ${role} LOGIN PASSWORD '${hardPassword.replace(/'/g, "''")}';
     GRANT USAGE ON SCHEMA "${schema}" TO ${role}; GRANT INSERT ON "${schema}".t TO ${role}`,
  );
});

afterAll(async () => {
  await sql(s.source, `DROP SCHEMA "${schema}" CASCADE`);
  await sql(s.target1, `DROP SCHEMA "${schema}" CASCADE; DROP ROLE ${role}`);
});

describe('implicit password sources never reach an endpoint without a password', () => {
  let fake: FakeAuthServer;
  let dir: string;
  const saved = { ...process.env };

  beforeAll(async () => {
    fake = await startFakeAuthServer();
    dir = await mkdtemp(join(tmpdir(), 'pgcopy-pgpass-'));
    const pgpass = join(dir, 'pgpass');
    await writeFile(pgpass, '*:*:*:*:leaked-from-pgpass\n');
    await chmod(pgpass, 0o600);
    // node-postgres reads these from process.env on its own.
    Object.assign(process.env, {
      PGPASSWORD: 'leaked-from-PGPASSWORD',
      PGPASSFILE: pgpass,
      PGOPTIONS: '-c search_path=evil',
    });
  });

  afterAll(async () => {
    for (const key of ['PGPASSWORD', 'PGPASSFILE', 'PGOPTIONS']) {
      if (saved[key] === undefined) Reflect.deleteProperty(process.env, key);
      else process.env[key] = saved[key];
    }
    await fake.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('a server asking for a cleartext password gets none, and no PGOPTIONS', async () => {
    const result = await check({
      targets: [
        {
          name: 'db_1',
          host: '127.0.0.1',
          port: fake.port,
          database: 'postgres',
          user: 'victim',
          sslmode: 'disable',
          schema,
          tables: ['t'],
        },
      ],
    });
    expect(result.code).toBe(1);
    expect(fake.attempts.length).toBeGreaterThan(0);
    for (const attempt of fake.attempts) {
      expect(attempt.password).toBeUndefined();
      expect(attempt.startup).not.toHaveProperty('options');
    }
    expect(result.stdout).toContain(
      'no password for endpoint db_1 (the server asks for one; looked in: targets[0].password, targets[0].url)',
    );
    expect(result.stdout + result.stderr).not.toContain('leaked');
    // The source, with its own password, is still checked.
    expect(result.stdout).toMatch(/source \(.*\)\n {2}server/);
  });
});

describe('${VAR} substituted into a URL is percent-encoded where it is user-info', () => {
  it('a password holding @ : / ? # % & and a space logs in through url', async () => {
    const result = await check(
      {
        targets: [
          {
            name: 'db_1',
            url: `postgres://\${DB_USER}:\${DB_PASSWORD}@127.0.0.1:${s.target1.port}/postgres?sslmode=disable`,
            schema,
            tables: ['t'],
          },
        ],
      },
      { DB_USER: role, DB_PASSWORD: hardPassword },
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it.each([
    [
      'a malformed percent-escape',
      `postgres://u:bad%zzLeak3dPart@127.0.0.1:5432/postgres`,
      /password holds a malformed percent-escape/,
    ],
    [
      'a user-info spilling into the query',
      `postgres://u:5432?Leak3dPart@127.0.0.1/postgres`,
      /query string holds "@"/,
    ],
    [
      'a user-info spilling into the fragment',
      `postgres://u:5432#Leak3dPart@127.0.0.1/postgres`,
      /or the URL a "#"/,
    ],
    [
      'a malformed escape in the user',
      `postgres://Leak3dPart%@127.0.0.1/postgres`,
      /user holds a malformed percent-escape/,
    ],
  ])('%s is a config error naming the key, never the user-info', async (_what, url, message) => {
    const result = await check({ targets: [{ name: 'db_1', url, tables: ['t'] }] });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^pgcopy: targets\[0\]\.url: /);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toContain('Leak3dPart');
  });
});

describe('secret fields of the wrong type are never echoed', () => {
  it('a numeric password in the config is its text; a list is refused without its value', async () => {
    await sql(s.target1, `ALTER ROLE ${role} PASSWORD '83927461'`);
    try {
      const target = (password: unknown) => ({
        targets: [
          {
            name: 'db_1',
            ...endpointOf(s.target1, schema),
            user: role,
            password,
            tables: ['t'],
          },
        ],
      });
      const ok = await check(target(83927461));
      expect(ok.code).toBe(0);
      const bad = await check(target([83927461]));
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('targets[0].password: expected a string, got a list');
      expect(bad.stderr).not.toContain('83927461');
    } finally {
      await sql(s.target1, `ALTER ROLE ${role} PASSWORD '${hardPassword.replace(/'/g, "''")}'`);
    }
  });
});

describe('a host holding a port', () => {
  it('is a config error that says where the port goes', async () => {
    const result = await check({
      targets: [
        {
          name: 'db_1',
          ...endpointOf(s.target1, schema),
          host: `127.0.0.1:${s.target1.port}`,
          tables: ['t'],
        },
      ],
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `targets[0].host holds a port ("127.0.0.1:${s.target1.port}"): give the host name alone, and the port in the port field`,
    );
  });
});
