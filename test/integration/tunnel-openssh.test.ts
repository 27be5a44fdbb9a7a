import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ConnectionSpec, ResolvedSsh } from '../../src/db/connection-spec.js';
import { Connector } from '../../src/db/connector.js';
import { freePort } from '../../src/demo/free-port.js';
import { TunnelError } from '../../src/errors.js';
import { openSshTunnel } from '../../src/tunnel/ssh-tunnel.js';
import { servers } from '../support/db.js';
import type { ServerInfo } from '../support/server-info.js';
import { generateKeyPair, sshSettingsFor } from '../support/ssh-server.js';
import { sshdAvailable, startSshd, type TestSshd } from '../support/sshd.js';

const OTHER_FINGERPRINT = 'SHA256:' + 'B'.repeat(43);

function specVia(db: ServerInfo, ssh: ResolvedSsh): ConnectionSpec {
  return {
    name: 'source',
    host: db.host,
    port: db.port,
    database: 'postgres',
    user: db.user,
    password: db.password,
    sslmode: 'disable',
    ssh,
  };
}

async function rejection(promise: Promise<unknown>): Promise<TunnelError> {
  const error: unknown = await promise.then(
    () => new Error('expected a rejection'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TunnelError);
  return error as TunnelError;
}

/** sshd's log lines written after `offset`, once it has logged the connection's end. */
async function logSince(sshd: TestSshd, offset: number): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const text = (await sshd.log()).slice(offset);
    if (/Connection (closed|reset)|Disconnected|disconnect/i.test(text)) return text;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return (await sshd.log()).slice(offset);
}

describe.skipIf(!sshdAvailable())('SSH tunnel through OpenSSH sshd', () => {
  let sshd: TestSshd;
  let db: ServerInfo;
  let ed25519: string;
  let rsa: string;

  beforeAll(async () => {
    sshd = await startSshd();
    db = servers().source;
    ed25519 = sshd.fingerprints.ed25519 ?? '';
    rsa = sshd.fingerprints.rsa ?? '';
  });
  afterAll(async () => {
    await sshd.stop();
  });

  test('pg connects and runs queries through the tunnel', async () => {
    const connector = new Connector(specVia(db, sshSettingsFor(sshd, [ed25519])), {
      openTunnel: openSshTunnel,
    });
    try {
      const clients = await Promise.all([1, 2].map(() => connector.connect()));
      const rows = await Promise.all(
        clients.map((c) => c.query<{ v: string }>('SELECT current_setting($1) AS v', ['port'])),
      );
      expect(rows.map((r) => r.rows[0]?.v)).toEqual([String(db.port), String(db.port)]);
      const started = Date.now();
      for (let i = 0; i < 20; i++) await clients[0]?.query('SELECT 1');
      expect((Date.now() - started) / 20).toBeLessThan(20);
      await Promise.all(clients.map((c) => c.end()));
    } finally {
      await connector.close();
    }
    const log = await sshd.log();
    expect(log).toContain('Accepted publickey for');
  });

  test('a wrong fingerprint is refused before any authentication attempt', async () => {
    const offset = (await sshd.log()).length;
    const error = await rejection(
      openSshTunnel(sshSettingsFor(sshd, [OTHER_FINGERPRINT]), { host: db.host, port: db.port }),
    );
    expect(error.code).toBe('TUNNEL_HOST_KEY');
    expect(error.message).toContain(
      `presented ED25519 key ${ed25519}, expected ${OTHER_FINGERPRINT}`,
    );
    const log = await logSince(sshd, offset);
    expect(log).toMatch(
      /Connection (closed|reset) by 127\.0\.0\.1 port \d+ \[preauth\]|disconnect/i,
    );
    expect(log).not.toMatch(/publickey|Accepted|Failed|Postponed|userauth/i);
  });

  test('a rotation list with the negotiated key is accepted; pinning only RSA is not', async () => {
    const tunnel = await openSshTunnel(sshSettingsFor(sshd, [rsa, ed25519]), {
      host: db.host,
      port: db.port,
    });
    await tunnel.close();
    // ssh2 negotiates ED25519 first: pin the key `pgcopy fingerprint` marks.
    const error = await rejection(
      openSshTunnel(sshSettingsFor(sshd, [rsa]), { host: db.host, port: db.port }),
    );
    expect(error.message).toContain(`presented ED25519 key ${ed25519}, expected ${rsa}`);
  });

  test('a key sshd does not accept fails authentication', async () => {
    const error = await rejection(
      openSshTunnel(
        sshSettingsFor(sshd, [ed25519], { privateKey: generateKeyPair('ed25519').private }),
        { host: db.host, port: db.port },
      ),
    );
    expect(error.code).toBe('TUNNEL_AUTH');
    expect(error.message).toContain(
      `ssh ${sshd.user}@127.0.0.1:${sshd.port}: authentication failed`,
    );
  });

  test('a closed database port gives a clear forward error', async () => {
    const closedPort = await freePort();
    const error = await rejection(
      openSshTunnel(sshSettingsFor(sshd, [ed25519]), { host: '127.0.0.1', port: closedPort }),
    );
    expect(error.code).toBe('TUNNEL_FORWARD');
    expect(error.message).toBe(
      `ssh ${sshd.user}@127.0.0.1:${sshd.port}: the bastion could not open a connection to ` +
        `127.0.0.1:${closedPort} (connect failed: Connection refused); is the database running, ` +
        'and reachable from the bastion on that host and port?',
    );
  });
});
