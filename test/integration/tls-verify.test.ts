import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { SslMode } from '../../src/config/types.js';
import type { ConnectionSpec } from '../../src/db/connection-spec.js';
import { Connector } from '../../src/db/connector.js';
import type { LocalPostgres } from '../../src/demo/local-postgres.js';
import { ConfigError, ConnectError } from '../../src/errors.js';
import { openSshTunnel } from '../../src/tunnel/ssh-tunnel.js';
import { servers } from '../support/db.js';
import type { ServerInfo } from '../support/server-info.js';
import { sshSettingsFor, startSshServer, type TestSshServer } from '../support/ssh-server.js';
import { makeTestCa, startTlsPostgres, type TestCa } from '../support/tls-server.js';

function spec(
  db: Pick<ServerInfo, 'port' | 'user' | 'password'>,
  host: string,
  sslmode: SslMode,
  sslrootcert?: string,
): ConnectionSpec {
  return {
    name: 'target',
    host,
    port: db.port,
    database: 'postgres',
    user: db.user,
    password: db.password,
    sslmode,
    ...(sslrootcert !== undefined ? { sslrootcert } : {}),
  };
}

/** Connects, returns whether the session is encrypted (pg_stat_ssl), and disconnects. */
async function sslInUse(connector: Connector): Promise<boolean> {
  const client = await connector.connect();
  try {
    const result = await client.query<{ ssl: boolean }>(
      'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
    );
    return result.rows[0]?.ssl ?? false;
  } finally {
    await client.end();
    await connector.close();
  }
}

async function connectError(connector: Connector): Promise<Error> {
  try {
    await sslInUse(connector);
  } catch (error) {
    return error as Error;
  } finally {
    await connector.close();
  }
  throw new Error('expected the connection to fail');
}

describe('TLS to PostgreSQL with a self-signed CA', () => {
  let ca: TestCa;
  let otherCa: TestCa;
  let db: LocalPostgres;

  beforeAll(async () => {
    // The certificate names "localhost" only: 127.0.0.1 is then a wrong host name.
    [ca, otherCa] = await Promise.all([makeTestCa(['localhost']), makeTestCa(['localhost'])]);
    db = await startTlsPostgres(ca);
  });
  afterAll(async () => {
    await db.stop();
    await ca.remove();
    await otherCa.remove();
  });

  test('verify-full succeeds with the CA file and the certified host name', async () => {
    expect(await sslInUse(new Connector(spec(db, 'localhost', 'verify-full', ca.caFile)))).toBe(
      true,
    );
  });

  test('verify-full without sslrootcert is a config error', async () => {
    const error = await connectError(new Connector(spec(db, 'localhost', 'verify-full')));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe('target.sslrootcert: is required for sslmode verify-full');
  });

  test('verify-full fails for a host name the certificate does not name', async () => {
    const error = await connectError(
      new Connector(spec(db, '127.0.0.1', 'verify-full', ca.caFile)),
    );
    expect(error).toBeInstanceOf(ConnectError);
    expect(error.message).toMatch(
      /^cannot connect to target \(postgres@127\.0\.0\.1:\d+\/postgres\): Hostname\/IP does not match certificate's altnames: IP: 127\.0\.0\.1 is not in the cert's list/,
    );
  });

  test('verify-full fails when the certificate is signed by another CA', async () => {
    const error = await connectError(
      new Connector(spec(db, 'localhost', 'verify-full', otherCa.caFile)),
    );
    expect(error).toBeInstanceOf(ConnectError);
    expect(error.message).toMatch(/certificate/);
  });

  test('an unreadable sslrootcert is a config error naming the file', async () => {
    const error = await connectError(
      new Connector(spec(db, 'localhost', 'verify-full', `${ca.dir}/missing.crt`)),
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe(`target.sslrootcert: cannot read ${ca.dir}/missing.crt (ENOENT)`);
  });

  test('verify-ca checks the chain but not the host name', async () => {
    expect(await sslInUse(new Connector(spec(db, '127.0.0.1', 'verify-ca', ca.caFile)))).toBe(true);
    const error = await connectError(
      new Connector(spec(db, '127.0.0.1', 'verify-ca', otherCa.caFile)),
    );
    expect(error).toBeInstanceOf(ConnectError);
  });

  test('require encrypts without a CA; with a CA it verifies the chain, as libpq does', async () => {
    expect(await sslInUse(new Connector(spec(db, '127.0.0.1', 'require')))).toBe(true);
    const error = await connectError(
      new Connector(spec(db, '127.0.0.1', 'require', otherCa.caFile)),
    );
    expect(error).toBeInstanceOf(ConnectError);
  });

  test('prefer uses TLS when the server has it; disable never does', async () => {
    expect(await sslInUse(new Connector(spec(db, '127.0.0.1', 'prefer')))).toBe(true);
    expect(await sslInUse(new Connector(spec(db, '127.0.0.1', 'disable')))).toBe(false);
  });

  test('prefer falls back to plain text on a server without TLS; require fails there', async () => {
    const plain = servers().source;
    expect(await sslInUse(new Connector(spec(plain, plain.host, 'prefer')))).toBe(false);
    const error = await connectError(new Connector(spec(plain, plain.host, 'require')));
    expect(error).toBeInstanceOf(ConnectError);
    expect(error.message).toMatch(/The server does not support SSL connections$/);
  });

  describe('through an SSH tunnel', () => {
    let ssh: TestSshServer;
    beforeAll(async () => {
      ssh = await startSshServer();
    });
    afterAll(async () => {
      await ssh.stop();
    });

    test('verify-full checks the database host name, not the tunnel address', async () => {
      const via = sshSettingsFor(ssh, [ssh.fingerprint]);
      const ok = new Connector(
        { ...spec(db, 'localhost', 'verify-full', ca.caFile), ssh: via },
        { openTunnel: openSshTunnel },
      );
      expect(await sslInUse(ok)).toBe(true);
      const wrongName = new Connector(
        { ...spec(db, '127.0.0.1', 'verify-full', ca.caFile), ssh: via },
        { openTunnel: openSshTunnel },
      );
      const error = await connectError(wrongName);
      expect(error.message).toMatch(/IP: 127\.0\.0\.1 is not in the cert's list/);
    });
  });
});
