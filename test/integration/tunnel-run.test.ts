import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { validateConfig } from '../../src/config/validate.js';
import type { Config } from '../../src/config/types.js';
import { run } from '../../src/copy/run.js';
import type { LocalPostgres } from '../../src/demo/local-postgres.js';
import { openSshTunnel } from '../../src/tunnel/ssh-tunnel.js';
import { workDir } from '../support/cli.js';
import { endpointOf } from '../support/config.js';
import { servers, sql, tableDigest, uniqueName } from '../support/db.js';
import type { ServerInfo } from '../support/server-info.js';
import { startSshServer, type KeyPair, type TestSshServer } from '../support/ssh-server.js';
import { sshdAvailable, startSshd, type TestSshd } from '../support/sshd.js';
import { REGION, startSecretsManagerServer } from '../support/secrets-manager-server.js';
import { makeTestCa, startTlsPostgres, type TestCa } from '../support/tls-server.js';

const schema = uniqueName('Tunnel_Run');
const q = `"${schema}"`;
const ITEMS = `CREATE TABLE ${q}.items (id int PRIMARY KEY, name text, price numeric(10,2))`;
const BIG = `CREATE TABLE ${q}.big (id int PRIMARY KEY, payload text)`;

describe('pgcopy run through SSH tunnels and TLS', () => {
  let source: ServerInfo;
  let target: ServerInfo;
  let ssh: TestSshServer;
  let sshd: TestSshd | undefined;
  let ca: TestCa;
  let tlsDb: LocalPostgres;
  let dir: { dir: string; cleanup: () => Promise<void> };

  async function keyFile(name: string, key: KeyPair): Promise<string> {
    const file = join(dir.dir, name);
    await writeFile(file, key.private, { mode: 0o600 });
    return file;
  }

  /** A config copying `big` from the source through `server`'s tunnel straight into the target. */
  async function throughTunnel(
    server: TestSshServer,
    keyName: string,
    options: Record<string, unknown>,
  ): Promise<Config> {
    return validateConfig({
      source: {
        ...endpointOf(source, schema),
        ssh: {
          host: server.host,
          port: server.port,
          user: server.user,
          fingerprint: server.fingerprint,
          keyFile: await keyFile(keyName, server.clientKey),
        },
      },
      targets: [{ name: 'direct', ...endpointOf(target, schema), tables: ['big'] }],
      options,
    });
  }

  beforeAll(async () => {
    ({ source, target1: target } = servers());
    [ssh, ca, sshd] = await Promise.all([
      startSshServer(),
      makeTestCa(['localhost']),
      sshdAvailable() ? startSshd({ hostKeyTypes: ['ed25519'] }) : undefined,
    ]);
    tlsDb = await startTlsPostgres(ca);
    dir = await workDir('');
    await sql(
      source,
      `CREATE SCHEMA ${q}; ${ITEMS}; ${BIG};
       INSERT INTO ${q}.items SELECT g, 'item ' || g, g * 1.5 FROM generate_series(1, 10000) g;
       INSERT INTO ${q}.big SELECT g, repeat(md5(g::text), 8) FROM generate_series(1, 400000) g;`,
    );
    for (const server of [target, tlsDb]) {
      await sql(server, `CREATE SCHEMA ${q}; ${ITEMS}; ${BIG};`);
    }
  }, 120_000);

  afterAll(async () => {
    for (const server of [source, target]) await sql(server, `DROP SCHEMA ${q} CASCADE`);
    await tlsDb.stop();
    await Promise.all([ssh.stop(), sshd?.stop(), ca.remove(), dir.cleanup()]);
  });

  test.each(['OpenSSH sshd', 'the ssh2 server'])(
    'secrets from Secrets Manager; source through %s, a target through the ssh2 server, one over verify-full TLS',
    async (via) => {
      const bastion = via === 'OpenSSH sshd' && sshd ? sshd : ssh;
      const sourceFingerprint =
        bastion === sshd ? (sshd.fingerprints.ed25519 ?? '') : ssh.fingerprint;
      const login = (server: ServerInfo, host = server.host) => ({
        host,
        port: server.port,
        username: server.user,
        password: server.password,
        dbname: 'postgres',
      });
      const sm = await startSecretsManagerServer({
        secrets: {
          'pgcopy/acc/source': { ...login(source), ssh: bastion.clientKey.private },
          'pgcopy/acc/tunnelled': {
            ...login(target),
            ssh: { privateKey: ssh.clientKey.private },
          },
          'pgcopy/acc/tls': login(tlsDb, 'localhost'),
        },
      });
      try {
        await sql(target, `TRUNCATE ${q}.items`);
        await sql(tlsDb, `TRUNCATE ${q}.items`);
        const config = validateConfig({
          secrets: {
            provider: 'aws',
            prefix: 'pgcopy',
            env: 'acc',
            region: REGION,
            endpoint: sm.endpoint,
          },
          source: {
            secret: 'source',
            schema,
            sslmode: 'disable',
            ssh: {
              host: bastion.host,
              port: bastion.port,
              user: bastion.user,
              fingerprint: sourceFingerprint,
            },
          },
          targets: [
            {
              name: 'tunnelled',
              secret: 'tunnelled',
              schema,
              sslmode: 'disable',
              ssh: {
                host: ssh.host,
                port: ssh.port,
                user: ssh.user,
                fingerprint: [`SHA256:${'R'.repeat(43)}`, ssh.fingerprint],
              },
              tables: ['items'],
            },
            {
              name: 'tls',
              secret: 'tls',
              schema,
              sslmode: 'verify-full',
              sslrootcert: ca.caFile,
              tables: ['items'],
            },
          ],
          options: { mode: 'truncate' },
        });
        const outcome = await run(config, { deps: { openTunnel: openSshTunnel } });
        expect(outcome.report?.tables.map((t) => [t.target, t.table, t.status, t.rows])).toEqual([
          ['tunnelled', 'items', 'done', 10000],
          ['tls', 'items', 'done', 10000],
        ]);
        const expected = await tableDigest(source, `SELECT * FROM ${q}.items`);
        expect(await tableDigest(target, `SELECT * FROM ${q}.items`)).toEqual(expected);
        expect(await tableDigest(tlsDb, `SELECT * FROM ${q}.items`)).toEqual(expected);
        expect(sm.count('BatchGetSecretValue')).toBe(1);
        const shown = JSON.stringify(outcome);
        for (const secret of [source.password, target.password, tlsDb.password]) {
          expect(shown).not.toContain(secret);
        }
        expect(shown).not.toContain('PRIVATE KEY');
      } finally {
        await sm.close();
      }
    },
  );

  test('a tunnel dropped mid-copy fails that table with a tunnel error; its target is unchanged', async () => {
    const server = await startSshServer();
    try {
      await sql(
        target,
        `TRUNCATE ${q}.big; INSERT INTO ${q}.big VALUES (-1, 'kept'), (-2, 'kept')`,
      );
      const before = await tableDigest(target, `SELECT * FROM ${q}.big`);
      const config = await throughTunnel(server, 'drop_key', {
        // No retry: this pins the failed attempt (the next test retries through a new tunnel).
        mode: 'truncate',
        retries: 0,
      });
      let killed = false;
      const { report } = await run(config, {
        deps: { openTunnel: openSshTunnel },
        progressIntervalMs: 20,
        onEvent: (event) => {
          if (event.type === 'table-progress' && event.bytes > 0 && !killed) {
            killed = true;
            server.killConnections();
          }
        },
      });
      expect(killed).toBe(true);
      const result = report?.tables[0];
      expect(result?.status).toBe('error');
      expect(result?.error?.code).toBe('TUNNEL');
      expect(result?.error?.message).toMatch(
        /^source: ssh tunnel@127\.0\.0\.1:\d+: the SSH connection dropped \(.+\); .*the target transaction was rolled back$/,
      );
      expect(await tableDigest(target, `SELECT * FROM ${q}.big`)).toEqual(before);
    } finally {
      await server.stop();
    }
  });

  test('fault: the SSH connection killed mid-copy is retried through a new tunnel and completes', async () => {
    const server = await startSshServer();
    try {
      await sql(target, `TRUNCATE ${q}.big; INSERT INTO ${q}.big VALUES (-1, 'kept')`);
      const config = await throughTunnel(server, 'retry_key', {
        // The snapshot's coordinator goes through the tunnel too: it dies with it.
        mode: 'truncate',
        onSnapshotLoss: 'reexport',
      });
      let killed = false;
      const retries: string[] = [];
      const { report } = await run(config, {
        deps: { openTunnel: openSshTunnel },
        progressIntervalMs: 20,
        retryDelays: { baseDelayMs: 50, maxDelayMs: 100 },
        onEvent: (event) => {
          if (event.type === 'table-retry') retries.push(event.error.code);
          if (event.type === 'table-progress' && event.bytes > 0 && !killed) {
            killed = true;
            server.killConnections();
          }
        },
      });
      expect(killed).toBe(true);
      expect(retries).toEqual(['TUNNEL']);
      expect(report?.tables[0]).toMatchObject({ status: 'done', rows: 400000, attempts: 2 });
      expect(report?.snapshots).toHaveLength(2);
      expect(report?.snapshot).toBe(report?.snapshots?.[0]);
      expect(await tableDigest(target, `SELECT * FROM ${q}.big`)).toEqual(
        await tableDigest(source, `SELECT * FROM ${q}.big`),
      );
    } finally {
      await server.stop();
    }
  });
});
