import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { LocalPostgres } from '../../src/demo/local-postgres.js';
import { cli, workDir } from '../support/cli.js';
import { endpointOf } from '../support/config.js';
import { servers, sql, uniqueName } from '../support/db.js';
import type { ServerInfo } from '../support/server-info.js';
import { startSshServer, type TestSshServer } from '../support/ssh-server.js';
import { makeTestCa, startTlsPostgres, type TestCa } from '../support/tls-server.js';

const TABLES =
  'CREATE TABLE IF NOT EXISTS %s.a (id int PRIMARY KEY, v text); CREATE TABLE IF NOT EXISTS %s.b (id serial PRIMARY KEY, v text);';

function setupSql(schema: string): string {
  const q = `"${schema}"`;
  return `CREATE SCHEMA IF NOT EXISTS ${q}; ${TABLES.replaceAll('%s', q)}`;
}

describe('pgcopy check', () => {
  const schema = uniqueName('Check');
  const role = uniqueName('limited').toLowerCase();
  const rolePassword = 'limited-pw-' + role;
  let ssh: TestSshServer;
  let ca: TestCa;
  let tlsDb: LocalPostgres;
  let source: ServerInfo;
  let target: ServerInfo;

  beforeAll(async () => {
    ({ source, target1: target } = servers());
    ssh = await startSshServer();
    ca = await makeTestCa(['localhost']);
    tlsDb = await startTlsPostgres(ca);
    for (const server of [source, target, tlsDb]) {
      await sql(server, setupSql(schema));
      await sql(server, `CREATE ROLE ${role} LOGIN PASSWORD '${rolePassword}'`);
    }
    // No USAGE on the schema of the TLS server, and no temporary tables there.
    for (const server of [source, target]) {
      await sql(server, `GRANT USAGE ON SCHEMA "${schema}" TO ${role}`);
    }
    await sql(tlsDb, 'REVOKE TEMPORARY ON DATABASE postgres FROM PUBLIC');
    // The limited role: SELECT on source a only; INSERT but no TRUNCATE on the target.
    await sql(source, `GRANT SELECT ON "${schema}".a TO ${role}`);
    await sql(target, `GRANT INSERT ON "${schema}".a, "${schema}".b TO ${role}`);
  });

  afterAll(async () => {
    for (const server of [source, target]) {
      await sql(server, `DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await sql(server, `DROP OWNED BY ${role}; DROP ROLE IF EXISTS ${role}`);
    }
    await tlsDb.stop();
    await ca.remove();
    await ssh.stop();
  });

  /** The source's connection and SSH key come from a secret (env provider). */
  function env(): Record<string, string> {
    const secret = {
      host: source.host,
      port: source.port,
      username: source.user,
      password: source.password,
      dbname: 'postgres',
      ssh: ssh.clientKey.private,
    };
    return { PGCOPY_SECRET_PGCOPY_SOURCE: JSON.stringify(secret) };
  }

  function config(user?: { user: string; password: string }): Record<string, unknown> {
    const as = user ?? {};
    return {
      secrets: { provider: 'env' },
      source: {
        secretId: 'pgcopy/source',
        schema,
        sslmode: 'disable',
        ...as,
        ssh: { host: ssh.host, port: ssh.port, user: ssh.user, fingerprint: ssh.fingerprint },
      },
      targets: [
        {
          name: 'plain',
          ...endpointOf(target, schema),
          ...as,
          tables: ['a', { name: 'b', mode: 'truncate' }],
        },
        {
          name: 'secure',
          ...endpointOf(tlsDb, schema),
          ...as,
          host: 'localhost',
          sslmode: 'verify-full',
          sslrootcert: ca.caFile,
          tables: [{ name: 'a', mode: 'upsert' }],
        },
      ],
      options: { mode: 'append' },
    };
  }

  async function check(
    raw: Record<string, unknown>,
  ): Promise<{ code: number; stdout: string; stderr: string }> {
    const work = await workDir(raw);
    try {
      return await cli(['check', '-c', work.file], {
        env: env(),
        signal: new AbortController().signal,
      });
    } finally {
      await work.cleanup();
    }
  }

  test('every endpoint reachable with its privileges: exit 0 with version, TLS and latency', async () => {
    const result = await check(config());
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const out = result.stdout;
    expect(out).toContain(
      `source (postgres@127.0.0.1:${source.port}/postgres via ssh tunnel@127.0.0.1:${ssh.port})\n  server      PostgreSQL 17.`,
    );
    expect(out).toMatch(
      /plain \(postgres@127\.0\.0\.1:\d+\/postgres\)\n {2}server {6}PostgreSQL 17\.\d+\n {2}TLS {9}off\n/,
    );
    expect(out).toMatch(
      /secure \(postgres@localhost:\d+\/postgres\)\n {2}server {6}PostgreSQL 17\.\d+\n {2}TLS {9}on \(TLSv1\.[23]\)\n/,
    );
    expect(out).toMatch(/ {2}latency {5}\d+\.\d ms round trip \(best of 5; connect \d+ ms\)/);
    expect(out).toContain('  privileges  ok (2 tables)');
    expect(out).toContain('  privileges  ok (1 table)');
    expect(out).toContain('check passed');
  });

  test('missing privileges and tables: exit 1, each one named', async () => {
    const raw = config({ user: role, password: rolePassword });
    const targets = raw.targets as Record<string, unknown>[];
    targets[1] = { ...targets[1], tables: [{ name: 'a', mode: 'upsert' }, 'nope'] };
    targets.push({ ...targets[0], name: 'elsewhere', schema: 'no_such_schema', tables: ['a'] });
    const result = await check(raw);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      [
        'check failed:',
        `  - source: SELECT on ${schema}.b`,
        `  - source: table ${schema}.nope does not exist`,
        `  - plain: TRUNCATE on ${schema}.b`,
        `  - plain: SELECT on ${schema}.b (to advance its sequences)`,
        `  - plain: SELECT, UPDATE on sequence ${schema}.b_id_seq`,
        `  - secure: USAGE on schema ${schema}`,
        `  - secure: SELECT, INSERT, UPDATE on ${schema}.a`,
        `  - secure: table ${schema}.nope does not exist`,
        '  - secure: TEMPORARY on the database (upsert and insert-new stage rows)',
        '  - elsewhere: schema no_such_schema does not exist',
        '',
      ].join('\n'),
    );
    expect(result.stdout).toContain(
      `  privileges  MISSING: TRUNCATE on ${schema}.b; SELECT on ${schema}.b (to advance its sequences); SELECT, UPDATE on sequence ${schema}.b_id_seq\n`,
    );
  });

  test('an endpoint that cannot be reached: exit 1 with the reason', async () => {
    const raw = config();
    const src = raw.source as Record<string, unknown>;
    raw.source = {
      ...src,
      ssh: { ...(src.ssh as object), fingerprint: 'SHA256:' + 'C'.repeat(43) },
    };
    const result = await check(raw);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/\n {2}error {7}ssh tunnel@127\.0\.0\.1:\d+: host key mismatch/);
    expect(result.stdout).toContain('  - source: cannot connect');
    expect(result.stdout).toContain('  privileges  ok (2 tables)'); // the other endpoints still checked
  });

  test('usage errors exit 2', async () => {
    expect((await cli(['check'])).code).toBe(2);
    expect((await cli(['check', '-c', 'x.yaml', 'extra'])).code).toBe(2);
  });
});
