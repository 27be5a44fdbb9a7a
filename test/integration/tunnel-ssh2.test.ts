import { createServer, Socket, type AddressInfo, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ConnectionSpec, ResolvedSsh } from '../../src/db/connection-spec.js';
import { Connector } from '../../src/db/connector.js';
import { freePort } from '../../src/demo/free-port.js';
import { TunnelError } from '../../src/errors.js';
import { openSshTunnel } from '../../src/tunnel/ssh-tunnel.js';
import { servers } from '../support/db.js';
import type { ServerInfo } from '../support/server-info.js';
import {
  generateKeyPair,
  sshSettingsFor,
  startSshServer,
  type TestSshServer,
} from '../support/ssh-server.js';

const OTHER_FINGERPRINT = 'SHA256:' + 'A'.repeat(43);

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

/** Connects to a local port, writes `text`, and returns what came back before the socket closed. */
function exchange(port: number, text: string): Promise<string> {
  return new Promise((resolve) => {
    let received = '';
    const socket = new Socket();
    socket.on('error', () => undefined);
    socket.on('data', (d: Buffer) => {
      received += d.toString();
      if (received === text) socket.end();
    });
    socket.once('close', () => resolve(received));
    socket.connect(port, '127.0.0.1', () => socket.write(text));
  });
}

/** The rejection of a promise that must reject. */
async function rejection(promise: Promise<unknown>): Promise<TunnelError> {
  const error: unknown = await promise.then(
    () => new Error('expected a rejection'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TunnelError);
  return error as TunnelError;
}

describe('SSH tunnel through the ssh2 test server', () => {
  let ssh: TestSshServer;
  let db: ServerInfo;

  beforeAll(async () => {
    ssh = await startSshServer();
    db = servers().source;
  });
  afterAll(async () => {
    await ssh.stop();
  });

  test('pg clients share one SSH connection and run queries through it', async () => {
    const before = ssh.connections;
    const connector = new Connector(specVia(db, sshSettingsFor(ssh, [ssh.fingerprint])), {
      openTunnel: openSshTunnel,
    });
    try {
      const clients = await Promise.all([1, 2, 3].map(() => connector.connect()));
      const results = await Promise.all(
        clients.map((c, i) => c.query<{ n: number }>('SELECT $1::int + 1 AS n', [i])),
      );
      expect(results.map((r) => r.rows[0]?.n)).toEqual([1, 2, 3]);
      // Every client really went through the tunnel: the server sees the bastion's address.
      const started = Date.now();
      for (let i = 0; i < 20; i++) await clients[0]?.query('SELECT 1');
      const perQueryMs = (Date.now() - started) / 20;
      expect(perQueryMs).toBeLessThan(20); // no Nagle delays (~88 ms per round trip without NODELAY)
      await Promise.all(clients.map((c) => c.end()));
      expect(ssh.connections - before).toBe(1);
    } finally {
      await connector.close();
    }
  });

  test('a wrong fingerprint is refused before any authentication attempt', async () => {
    const attempts = ssh.authAttempts;
    const error = await rejection(
      openSshTunnel(sshSettingsFor(ssh, [OTHER_FINGERPRINT]), { host: db.host, port: db.port }),
    );
    expect(error.code).toBe('TUNNEL_HOST_KEY');
    expect(error.message).toContain(`presented ED25519 key ${ssh.fingerprint}`);
    expect(error.message).toContain(`expected ${OTHER_FINGERPRINT}`);
    expect(error.message).toContain('before authenticating');
    expect(ssh.authAttempts).toBe(attempts);
  });

  test('any fingerprint of a rotation list is accepted', async () => {
    const tunnel = await openSshTunnel(sshSettingsFor(ssh, [OTHER_FINGERPRINT, ssh.fingerprint]), {
      host: db.host,
      port: db.port,
    });
    await tunnel.close();
    expect(tunnel.failure?.message).toMatch(/tunnel was closed/);
  });

  test('a key the server does not accept fails authentication with a clear message', async () => {
    const wrongKey = generateKeyPair('ed25519');
    const error = await rejection(
      openSshTunnel(sshSettingsFor(ssh, [ssh.fingerprint], { privateKey: wrongKey.private }), {
        host: db.host,
        port: db.port,
      }),
    );
    expect(error.code).toBe('TUNNEL_AUTH');
    expect(error.message).toBe(
      `ssh tunnel@127.0.0.1:${ssh.port}: authentication failed: the server did not accept the private key ` +
        `for user "tunnel" (check ssh.user, and that the key's public half is in the bastion's authorized_keys)`,
    );
  });

  test('an encrypted key works with its passphrase, and says so without it', async () => {
    const server = await startSshServer({
      clientKey: generateKeyPair('ed25519', 'open sesame'),
    });
    try {
      const tunnel = await openSshTunnel(
        sshSettingsFor(server, [server.fingerprint], { passphrase: 'open sesame' }),
        { host: db.host, port: db.port },
      );
      await tunnel.close();
      const error = await rejection(
        openSshTunnel(sshSettingsFor(server, [server.fingerprint]), {
          host: db.host,
          port: db.port,
        }),
      );
      expect(error.code).toBe('TUNNEL_KEY');
      expect(error.message).toMatch(/cannot use the private key: .*passphrase/);
      expect(error.message).not.toContain('open sesame');
    } finally {
      await server.stop();
    }
  });

  test('an unreachable bastion gives a clear error', async () => {
    const port = await freePort();
    const error = await rejection(
      openSshTunnel(sshSettingsFor({ ...ssh, port }, [ssh.fingerprint]), {
        host: db.host,
        port: db.port,
      }),
    );
    expect(error.code).toBe('TUNNEL_UNREACHABLE');
    expect(error.message).toBe(
      `ssh tunnel@127.0.0.1:${port}: cannot reach the SSH bastion: connect ECONNREFUSED 127.0.0.1:${port}`,
    );
  });

  test('a refused forward (database port closed) gives a clear error', async () => {
    const closedPort = await freePort();
    const error = await rejection(
      openSshTunnel(sshSettingsFor(ssh, [ssh.fingerprint]), {
        host: '127.0.0.1',
        port: closedPort,
      }),
    );
    expect(error.code).toBe('TUNNEL_FORWARD');
    expect(error.message).toBe(
      `ssh tunnel@127.0.0.1:${ssh.port}: the bastion could not open a connection to 127.0.0.1:${closedPort} ` +
        '(connect failed); is the database running, and reachable from the bastion on that host and port?',
    );
  });

  test('the connector reports a refused forward as a tunnel error', async () => {
    const closedPort = await freePort();
    const connector = new Connector(
      { ...specVia(db, sshSettingsFor(ssh, [ssh.fingerprint])), port: closedPort },
      { openTunnel: openSshTunnel },
    );
    try {
      const error = await rejection(connector.connect());
      expect(error.code).toBe('TUNNEL_FORWARD');
    } finally {
      await connector.close();
    }
  });

  test('a dropped SSH connection fails the running query with a clear tunnel error', async () => {
    const server = await startSshServer();
    const connector = new Connector(specVia(db, sshSettingsFor(server, [server.fingerprint])), {
      openTunnel: openSshTunnel,
    });
    try {
      const client = await connector.connect();
      const query = client.query('SELECT pg_sleep(30)');
      const outcome = query.then(
        () => 'finished',
        (e: unknown) => e,
      );
      await new Promise((resolve) => setTimeout(resolve, 200));
      const killedAt = Date.now();
      server.killConnections();
      const error = await outcome;
      expect(error).toBeInstanceOf(Error);
      expect(Date.now() - killedAt).toBeLessThan(2_000);
      const failure = await connector.tunnelFailure();
      expect(failure).toBeInstanceOf(TunnelError);
      expect((failure as TunnelError).code).toBe('TUNNEL_DROPPED');
      expect(failure?.message).toMatch(
        new RegExp(
          `^ssh tunnel@127\\.0\\.0\\.1:${server.port}: the SSH connection dropped \\(.+\\); ` +
            `connections to 127\\.0\\.0\\.1:${db.port} through it were cut$`,
        ),
      );
      // A later connection (a retried table's) opens a new tunnel.
      const next = await connector.connect();
      expect((await next.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      expect(await connector.tunnelFailure()).toBeUndefined();
      await next.end();
      await client.end().catch(() => undefined);
    } finally {
      await connector.close();
      await server.stop();
    }
  });

  test('bytes flow both ways; a destination that goes away closes new local connections', async () => {
    const echo = createServer((socket) => socket.pipe(socket));
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    const port = (echo.address() as AddressInfo).port;
    const tunnel = await openSshTunnel(sshSettingsFor(ssh, [ssh.fingerprint]), {
      host: '127.0.0.1',
      port,
    });
    try {
      const first = await exchange(tunnel.localPort, 'ping');
      expect(first).toBe('ping');
      await new Promise((resolve) => echo.close(resolve));
      // The forward is refused now: the local socket is closed, nothing crashes.
      expect(await exchange(tunnel.localPort, 'again')).toBe('');
      expect(tunnel.failure).toBeUndefined();
    } finally {
      await tunnel.close();
    }
  });

  test('an endpoint without a private key is refused before connecting', async () => {
    const connections = ssh.connections;
    const withoutKey: ResolvedSsh = { ...sshSettingsFor(ssh, [ssh.fingerprint]) };
    delete (withoutKey as { privateKey?: string }).privateKey;
    const error = await rejection(openSshTunnel(withoutKey, { host: db.host, port: db.port }));
    expect(error.code).toBe('TUNNEL_KEY');
    expect(error.message).toBe(
      `ssh tunnel@127.0.0.1:${ssh.port}: no private key (set ssh.keyFile or the secret's ssh field)`,
    );
    expect(ssh.connections).toBe(connections);
  });

  test.each([
    ['speaks another protocol', (socket: Socket) => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n')],
    ['hangs up at once', (socket: Socket) => socket.destroy()],
  ])('a server that %s gives a tunnel error', async (_label, onSocket) => {
    const server = createServer((socket) => {
      socket.on('error', () => undefined);
      socket.resume(); // read the client's FIN, so the connection can close
      onSocket(socket);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const error = await rejection(
        openSshTunnel(sshSettingsFor({ ...ssh, port }, [ssh.fingerprint]), {
          host: db.host,
          port: db.port,
        }),
      );
      expect(error.message).toMatch(new RegExp(`^ssh tunnel@127\\.0\\.0\\.1:${port}: `));
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  describe('a bastion that accepts TCP but never speaks SSH', () => {
    let silent: Server;
    let port: number;
    const held = new Set<Socket>();
    beforeAll(async () => {
      silent = createServer((socket) => {
        held.add(socket);
        socket.on('error', () => undefined);
      });
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const address = silent.address();
      port = typeof address === 'object' && address ? address.port : 0;
    });
    afterAll(async () => {
      for (const socket of held) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    });

    test('times out after readyTimeout with a clear message', async () => {
      const started = Date.now();
      const error = await rejection(
        openSshTunnel(
          sshSettingsFor({ ...ssh, port }, [ssh.fingerprint], { readyTimeoutMs: 300 }),
          {
            host: db.host,
            port: db.port,
          },
        ),
      );
      expect(error.code).toBe('TUNNEL_TIMEOUT');
      expect(error.message).toBe(
        `ssh tunnel@127.0.0.1:${port}: no SSH handshake within 300 ms (is the bastion reachable, and is it an SSH server?)`,
      );
      expect(Date.now() - started).toBeLessThan(3_000);
    });

    test('an abort signal stops the attempt with its reason', async () => {
      const controller = new AbortController();
      const reason = new Error('stop now');
      setTimeout(() => controller.abort(reason), 100);
      const attempt = openSshTunnel(
        sshSettingsFor({ ...ssh, port }, [ssh.fingerprint]),
        { host: db.host, port: db.port },
        { signal: controller.signal },
      );
      await expect(attempt).rejects.toBe(reason);
      await expect(
        openSshTunnel(
          sshSettingsFor(ssh, [ssh.fingerprint]),
          { host: db.host, port: db.port },
          { signal: controller.signal },
        ),
      ).rejects.toBe(reason);
    });
  });

  test('close() ends the SSH connection and the local listener', async () => {
    const server = await startSshServer();
    const tunnel = await openSshTunnel(sshSettingsFor(server, [server.fingerprint]), {
      host: db.host,
      port: db.port,
    });
    const started = Date.now();
    await tunnel.close();
    expect(Date.now() - started).toBeLessThan(1_000);
    await tunnel.close(); // idempotent
    const refused = await new Promise<string>((resolve) => {
      const socket = new Socket();
      socket.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      socket.connect(tunnel.localPort, tunnel.localHost, () => {
        socket.destroy();
        resolve('connected');
      });
    });
    expect(refused).toBe('ECONNREFUSED');
    await server.stop();
  });
});
