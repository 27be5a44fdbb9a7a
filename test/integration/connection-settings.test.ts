import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/validate.js';
import type { LocalPostgres } from '../../src/demo/local-postgres.js';
import { run } from '../../src/copy/run.js';
import { openConnectors } from '../../src/session.js';
import { cli, workDir } from '../support/cli.js';
import { endpointOf } from '../support/config.js';
import { servers, sql, uniqueName } from '../support/db.js';
import {
  makeClientCert,
  makeTestCa,
  startClientCertPostgres,
  type TestCa,
  type TestClientCert,
} from '../support/tls-server.js';

const s = servers();
const schema = uniqueName('conn_settings');
const q = `"${schema}"`;
const PASSPHRASE = 'open-sesame-7731';

/** application_name of a session opened by pgcopy's connectors for the config's source. */
async function sourceSession(
  source: Record<string, unknown>,
  env: Record<string, string> = {},
): Promise<{ applicationName: string; ssl: boolean; user: string }> {
  const config = validateConfig({
    source,
    targets: [{ name: 'db_1', ...endpointOf(s.target1, schema), tables: ['t'] }],
  });
  const connectors = await openConnectors(config, { env });
  try {
    const client = await connectors.source.connect();
    try {
      const { rows } = await client.query<{
        application_name: string;
        ssl: boolean;
        usename: string;
      }>(
        `SELECT a.application_name, a.usename, coalesce(l.ssl, false) AS ssl
           FROM pg_stat_activity a LEFT JOIN pg_stat_ssl l USING (pid) WHERE a.pid = pg_backend_pid()`,
      );
      const row = rows[0];
      if (!row) throw new Error('no pg_stat_activity row for the session');
      return { applicationName: row.application_name, ssl: row.ssl, user: row.usename };
    } finally {
      await client.end();
    }
  } finally {
    await connectors.close();
  }
}

describe('client certificates: sslcert, sslkey and sslpassword, as libpq takes them', () => {
  let ca: TestCa;
  let db: LocalPostgres;
  let plain: TestClientCert;
  let encrypted: TestClientCert;
  let work: Awaited<ReturnType<typeof workDir>>;

  /** The certificate-only server as a target endpoint (no password: pg_hba says `cert`). */
  const target = (extra: Record<string, unknown>): Record<string, unknown> => ({
    name: 'db_1',
    host: '127.0.0.1',
    port: db.port,
    database: 'postgres',
    user: 'postgres',
    schema,
    tables: ['t'],
    ...extra,
  });

  const runWith = async (targetFields: Record<string, unknown>) => {
    await writeFile(
      work.file,
      JSON.stringify({
        source: endpointOf(s.source, schema),
        targets: [target(targetFields)],
        options: { mode: 'truncate', logDir: join(work.dir, 'log') },
      }),
    );
    return cli(['run', '-c', work.file], { cwd: work.dir });
  };

  const targetRows = async (): Promise<number> => {
    const client = new pg.Client({
      host: '127.0.0.1',
      port: db.port,
      user: 'postgres',
      database: 'postgres',
      ssl: {
        ca: await readFile(ca.caFile, 'utf8'),
        cert: await readFile(plain.certFile, 'utf8'),
        key: await readFile(plain.keyFile, 'utf8'),
        checkServerIdentity: () => undefined,
      },
    });
    await client.connect();
    try {
      const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${q}.t`);
      return Number(rows[0]?.n);
    } finally {
      await client.end();
    }
  };

  beforeAll(async () => {
    ca = await makeTestCa(['localhost']);
    db = await startClientCertPostgres(ca, await readFile(ca.caFile, 'utf8'));
    plain = await makeClientCert(ca, 'postgres', { name: 'plain' });
    encrypted = await makeClientCert(ca, 'postgres', { name: 'encrypted', passphrase: PASSPHRASE });
    await sql(
      s.source,
      `CREATE SCHEMA ${q}; CREATE TABLE ${q}.t (id int PRIMARY KEY);
       INSERT INTO ${q}.t SELECT generate_series(1, 25)`,
    );
    const setup = new pg.Client({
      host: '127.0.0.1',
      port: db.port,
      user: 'postgres',
      database: 'postgres',
      ssl: {
        rejectUnauthorized: false,
        cert: await readFile(plain.certFile, 'utf8'),
        key: await readFile(plain.keyFile, 'utf8'),
      },
    });
    await setup.connect();
    await setup.query(`CREATE SCHEMA ${q}; CREATE TABLE ${q}.t (id int PRIMARY KEY)`);
    await setup.end();
    work = await workDir({});
  });

  afterAll(async () => {
    await work.cleanup();
    await db.stop();
    await ca.remove();
    await sql(s.source, `DROP SCHEMA ${q} CASCADE`);
  });

  it('bug: no client certificates; a run logs in to a hostssl cert server with sslcert and sslkey fields', async () => {
    const result = await runWith({
      sslmode: 'verify-ca',
      sslrootcert: ca.caFile,
      sslcert: plain.certFile,
      sslkey: plain.keyFile,
    });
    expect(result.stderr).toContain('Done: db_1.t rows=25');
    expect(result.code).toBe(0);
    expect(await targetRows()).toBe(25);
  });

  it('an encrypted key opens with sslpassword given in the URL; the passphrase is printed nowhere', async () => {
    const url =
      `postgres://postgres@127.0.0.1:${db.port}/postgres?sslmode=require` +
      `&sslcert=${encodeURIComponent(encrypted.certFile)}&sslkey=${encodeURIComponent(encrypted.keyFile)}` +
      `&sslpassword=${PASSPHRASE}`;
    const result = await runWith({ url, host: undefined, port: undefined });
    expect(result.code).toBe(0);
    expect(await targetRows()).toBe(25);
    const logs = await readFile(join(work.dir, 'log', (await logFiles(work.dir))[0] ?? ''), 'utf8');
    for (const text of [result.stdout, result.stderr, logs]) expect(text).not.toContain(PASSPHRASE);
  });

  it('a wrong sslpassword, or none for an encrypted key, is a config error naming the key, not the passphrase', async () => {
    const wrong = await runWith({
      sslmode: 'require',
      sslcert: encrypted.certFile,
      sslkey: encrypted.keyFile,
      sslpassword: 'not-the-passphrase',
    });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain(`db_1.sslkey: ${encrypted.keyFile} cannot be used`);
    expect(wrong.stderr).toContain('cannot be decrypted with sslpassword');
    expect(wrong.stderr).not.toContain('not-the-passphrase');
    const none = await runWith({
      sslmode: 'require',
      sslcert: encrypted.certFile,
      sslkey: encrypted.keyFile,
    });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('give its passphrase as sslpassword');
  });

  it('sslcert without sslkey, and a key others may read, are config errors naming the key', async () => {
    const alone = await runWith({ sslmode: 'require', sslcert: plain.certFile });
    expect(alone.code).toBe(2);
    expect(alone.stderr).toBe('pgcopy: db_1.sslkey: is required with db_1.sslcert\n');
    const open = join(work.dir, 'open.key');
    await writeFile(open, await readFile(plain.keyFile), { mode: 0o644 });
    const exposed = await runWith({ sslmode: 'require', sslcert: plain.certFile, sslkey: open });
    expect(exposed.code).toBe(2);
    expect(exposed.stderr).toContain(`db_1.sslkey: ${open} is readable by others than its owner`);
  });

  it('without a client certificate the server refuses the login', async () => {
    const result = await runWith({ sslmode: 'require' });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/certificate|no pg_hba\.conf entry|password/i);
  });

  it('fdw-push to a target that logs in by certificate is a plan error (its server cannot present the file); stream copies', async () => {
    const certificate = { sslmode: 'require', sslcert: plain.certFile, sslkey: plain.keyFile };
    await writeFile(
      work.file,
      JSON.stringify({
        source: endpointOf(s.source, schema),
        targets: [target(certificate)],
        options: { strategy: 'fdw-push', createExtensions: true, logDir: join(work.dir, 'log') },
      }),
    );
    const result = await cli(['plan', '-c', work.file], { cwd: work.dir });
    expect(result.code).not.toBe(0);
    expect(result.stdout).toContain(
      "strategy fdw-push: db_1 logs in with a client certificate (db_1.sslcert), which the source's server cannot present; use strategy stream for this table",
    );
  });

  it('the source takes PGSSLCERT and PGSSLKEY, as libpq does', async () => {
    const session = await sourceSession(
      { host: '127.0.0.1', port: db.port, database: 'postgres', user: 'postgres', schema },
      { PGSSLCERT: plain.certFile, PGSSLKEY: plain.keyFile, PGSSLMODE: 'require' },
    );
    expect(session).toEqual({ applicationName: 'pgcopy', ssl: true, user: 'postgres' });
  });
});

async function logFiles(dir: string): Promise<string[]> {
  const { readdir } = await import('node:fs/promises');
  return (await readdir(join(dir, 'log')))
    .filter((f) => f.endsWith('.log'))
    .sort()
    .reverse();
}

describe('application_name, seen in pg_stat_activity', () => {
  const url = (query: string): string =>
    `postgres://${s.source.user}:${s.source.password}@${s.source.host}:${s.source.port}/postgres?sslmode=disable${query}`;

  it('bug: ?application_name= in a URL was rejected; it names the sessions', async () => {
    expect(
      (await sourceSession({ url: url('&application_name=nightly_copy') })).applicationName,
    ).toBe('nightly_copy');
  });

  it('the applicationName field, PGAPPNAME (source), and the default pgcopy', async () => {
    const fields = { ...endpointOf(s.source, schema) };
    expect(
      (await sourceSession({ ...fields, applicationName: 'from_field' }, { PGAPPNAME: 'from_env' }))
        .applicationName,
    ).toBe('from_field');
    expect((await sourceSession(fields, { PGAPPNAME: 'from_env' })).applicationName).toBe(
      'from_env',
    );
    expect((await sourceSession(fields)).applicationName).toBe('pgcopy');
  });
});

describe('connect_timeout against a server that accepts and says nothing', () => {
  let silent: Server;
  let port: number;
  const sockets = new Set<Socket>();

  beforeAll(async () => {
    silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
      socket.resume(); // read and never answer
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    port = (silent.address() as AddressInfo).port;
  });

  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });

  /** Seconds until a run whose source is the silent server fails, and its stderr. */
  const timedRun = async (
    source: Record<string, unknown>,
    env: Record<string, string> = {},
  ): Promise<{ seconds: number; stderr: string; code: number }> => {
    const work = await workDir({
      source: { database: 'postgres', user: 'u', password: 'p', sslmode: 'disable', ...source },
      targets: [{ name: 'db_1', ...endpointOf(s.target1, schema), tables: ['t'] }],
    });
    try {
      const started = performance.now();
      const result = await cli(['run', '-c', work.file], { cwd: work.dir, env });
      return { seconds: (performance.now() - started) / 1000, ...result };
    } finally {
      await work.cleanup();
    }
  };

  it('bug: the connect timeout was fixed at 30 s; ?connect_timeout=3 gives up after 3 s', async () => {
    const run = await timedRun({
      url: `postgres://u:p@127.0.0.1:${port}/postgres?sslmode=disable&connect_timeout=3`,
    });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/timeout/i);
    expect(run.seconds).toBeGreaterThanOrEqual(2.9);
    expect(run.seconds).toBeLessThan(10);
  });

  it('the connectTimeout field and PGCONNECT_TIMEOUT (source); 1 counts as 2, as in libpq', async () => {
    const field = await timedRun({ host: '127.0.0.1', port, connectTimeout: 1 });
    expect(field.stderr).toMatch(/timeout/i);
    expect(field.seconds).toBeGreaterThanOrEqual(1.9);
    expect(field.seconds).toBeLessThan(8);
    const env = await timedRun({ host: '127.0.0.1', port }, { PGCONNECT_TIMEOUT: '2' });
    expect(env.stderr).toMatch(/timeout/i);
    expect(env.seconds).toBeGreaterThanOrEqual(1.9);
    expect(env.seconds).toBeLessThan(8);
  });

  it('connect_timeout that is not whole seconds is a config error naming the parameter', async () => {
    const run = await timedRun({
      url: `postgres://u:p@127.0.0.1:${port}/postgres?connect_timeout=5s`,
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('connect_timeout: expected whole seconds (0: no limit), got "5s"');
  });
});

describe.each(['dblink', 'fdw', 'fdw-push'] as const)(
  'the server-side strategy %s: the link between the servers has the endpoint’s application_name',
  (strategy) => {
    const linkSchema = uniqueName(`link_${strategy.replace('-', '_')}`);
    const lq = `"${linkSchema}"`;

    beforeAll(async () => {
      await sql(
        s.source,
        `CREATE SCHEMA ${lq}; CREATE TABLE ${lq}.slow (id int PRIMARY KEY);
         INSERT INTO ${lq}.slow SELECT generate_series(1, 1500)`,
      );
      await sql(s.target1, `CREATE SCHEMA ${lq}; CREATE TABLE ${lq}.slow (id int PRIMARY KEY)`);
      if (strategy === 'fdw') {
        // fdw takes no where filter: the target's trigger slows the pull instead.
        await sql(
          s.target1,
          `CREATE FUNCTION ${lq}.nap() RETURNS trigger LANGUAGE plpgsql
             SET search_path = pg_catalog AS $$ BEGIN PERFORM pg_sleep(0.001); RETURN NEW; END $$;
           CREATE TRIGGER nap BEFORE INSERT ON ${lq}.slow FOR EACH ROW EXECUTE FUNCTION ${lq}.nap()`,
        );
      }
    });

    afterAll(async () => {
      for (const server of [s.source, s.target1]) await sql(server, `DROP SCHEMA ${lq} CASCADE`);
    });

    it('is seen in pg_stat_activity of the far server while the table copies', async () => {
      const name = `pgcopy_link_${randomBytes(3).toString('hex')}`;
      // pull: the target's server reads the source; push: the source's server writes the target.
      const far = strategy === 'fdw-push' ? s.target1 : s.source;
      const farKey = strategy === 'fdw-push' ? 'target' : 'source';
      const seen = (async (): Promise<boolean> => {
        const deadline = Date.now() + 20_000;
        while (Date.now() < deadline) {
          const { rows } = await sql(
            far,
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = '${name}'`,
          );
          if ((rows[0] as { n: number }).n > 0) return true;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        return false;
      })();
      const slowly =
        strategy === 'fdw'
          ? 'slow'
          : { name: 'slow', where: 'pg_catalog.pg_sleep(0.001) IS NOT NULL' };
      const { report } = await run(
        validateConfig({
          source: {
            ...endpointOf(s.source, linkSchema),
            ...(farKey === 'source' ? { applicationName: name } : {}),
          },
          targets: [
            {
              name: 'db_1',
              ...endpointOf(s.target1, linkSchema),
              ...(farKey === 'target' ? { applicationName: name } : {}),
              tables: [slowly],
            },
          ],
          options: { strategy, createExtensions: true, mode: 'truncate' },
        }),
      );
      // (fdw: the trigger that slows it is a warning of its own.)
      expect(report?.tables.map((t) => [t.rows, t.error?.message])).toEqual([[1500, undefined]]);
      expect(await seen).toBe(true);
    });
  },
);
