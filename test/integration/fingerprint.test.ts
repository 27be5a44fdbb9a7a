import { execFile } from 'node:child_process';
import { createServer, type Socket } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseHostPort } from '../../src/cli/commands/fingerprint.js';
import { freePort } from '../../src/demo/free-port.js';
import { TunnelError } from '../../src/errors.js';
import { scanHostKeys } from '../../src/tunnel/scan-host-keys.js';
import { cli } from '../support/cli.js';
import { generateKeyPair, startSshServer } from '../support/ssh-server.js';
import { sshdAvailable, startSshd, type TestSshd } from '../support/sshd.js';

const exec = promisify(execFile);
const MARKER = '  <- pgcopy negotiates this key';

/** The lines that follow ssh-keygen -lf's format, marker removed. */
function keyLines(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter((line) => /^\d+ SHA256:/.test(line))
    .map((line) => line.replace(MARKER, ''));
}

describe.skipIf(!sshdAvailable())('pgcopy fingerprint against OpenSSH', () => {
  let sshd: TestSshd;
  beforeAll(async () => {
    sshd = await startSshd();
  });
  afterAll(async () => {
    await sshd.stop();
  });

  test('prints what ssh-keyscan | ssh-keygen -lf - prints, and marks the negotiated key', async () => {
    const result = await cli(['fingerprint', `127.0.0.1:${sshd.port}`]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const { stdout: keygen } = await exec('sh', [
      '-c',
      `ssh-keyscan -p ${sshd.port} 127.0.0.1 2>/dev/null | ssh-keygen -lf -`,
    ]);
    const expected = keygen.trim().split('\n');
    expect(expected).toHaveLength(3);
    // ssh-keyscan's order varies from run to run; pgcopy's is RSA, ECDSA, ED25519.
    expect(keyLines(result.stdout).sort()).toEqual([...expected].sort());
    const ed25519 = sshd.fingerprints.ed25519 ?? '';
    expect(result.stdout).toContain(`256 ${ed25519} [127.0.0.1]:${sshd.port} (ED25519)${MARKER}\n`);
    expect(result.stdout.split('\n').filter((l) => l.endsWith(MARKER))).toHaveLength(1);
    expect(result.stdout).toContain('confirm out of band');
    expect(result.stdout).toContain('ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub');
    expect(result.stdout).toContain(`    fingerprint: ${ed25519}\n`);
  });

  test('never authenticates', async () => {
    const before = (await sshd.log()).length;
    await cli(['fingerprint', `127.0.0.1:${sshd.port}`]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const log = (await sshd.log()).slice(before);
    expect(log).not.toMatch(/publickey|Accepted|Failed|Postponed|Invalid user/i);
  });
});

describe('pgcopy fingerprint', () => {
  test('marks the only key of the ssh2 test server (RSA host key)', async () => {
    const hostKey = generateKeyPair('rsa');
    const server = await startSshServer({ hostKey });
    try {
      const result = await cli(['fingerprint', `127.0.0.1:${server.port}`]);
      expect(result.code).toBe(0);
      expect(keyLines(result.stdout)).toEqual([
        `2048 ${server.fingerprint} [127.0.0.1]:${server.port} (RSA)`,
      ]);
      expect(result.stdout).toContain(`(RSA)${MARKER}\n`);
      expect(server.authAttempts).toBe(0);
    } finally {
      await server.stop();
    }
  });

  test('an unreachable host fails with exit 1 and a clear message', async () => {
    const port = await freePort();
    const result = await cli(['fingerprint', `127.0.0.1:${port}`]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `pgcopy: ssh 127.0.0.1:${port}: cannot read the host key: connect ECONNREFUSED 127.0.0.1:${port}\n`,
    );
  });

  test('usage errors exit 2', async () => {
    expect((await cli(['fingerprint'])).code).toBe(2);
    expect((await cli(['fingerprint', 'a', 'b'])).code).toBe(2);
    const bad = await cli(['fingerprint', 'host:99999']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('pgcopy: usage: pgcopy fingerprint HOST[:PORT], got "host:99999"\n');
  });

  test.each([
    ['bastion.example.com', { host: 'bastion.example.com', port: 22 }],
    ['bastion:2222', { host: 'bastion', port: 2222 }],
    ['[::1]:2200', { host: '::1', port: 2200 }],
    ['[::1]', { host: '::1', port: 22 }],
    ['::1', { host: '::1', port: 22 }],
  ])('parses %s', (input, expected) => {
    expect(parseHostPort(input)).toEqual(expected);
  });

  test.each(['', ':22', 'h:', 'h:0', 'h:x', '[::1', '[::1]x'])('rejects "%s"', (input) => {
    expect(() => parseHostPort(input)).toThrow(/usage: pgcopy fingerprint HOST\[:PORT\]/);
  });
});

describe('scanHostKeys against servers that are not SSH servers', () => {
  async function withServer(
    onSocket: (socket: Socket) => void,
    body: (port: number) => Promise<void>,
  ): Promise<void> {
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.resume(); // read the client's FIN, so the connection can close
      onSocket(socket);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    try {
      await body(typeof address === 'object' && address ? address.port : 0);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  }

  test('a silent server times out', async () => {
    await withServer(
      () => undefined,
      async (port) => {
        const error: unknown = await scanHostKeys('127.0.0.1', port, { timeoutMs: 200 }).catch(
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(TunnelError);
        expect((error as TunnelError).code).toBe('TUNNEL_TIMEOUT');
        expect((error as Error).message).toBe(
          `ssh 127.0.0.1:${port}: no SSH handshake within 200 ms`,
        );
      },
    );
  });

  test('an abort signal stops the scan with its reason', async () => {
    await withServer(
      () => undefined,
      async (port) => {
        const controller = new AbortController();
        const reason = new Error('enough');
        setTimeout(() => controller.abort(reason), 50);
        await expect(scanHostKeys('127.0.0.1', port, { signal: controller.signal })).rejects.toBe(
          reason,
        );
        await expect(scanHostKeys('127.0.0.1', port, { signal: controller.signal })).rejects.toBe(
          reason,
        );
      },
    );
  });

  test('a server speaking another protocol is reported', async () => {
    await withServer(
      (socket) => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'),
      async (port) => {
        const error: unknown = await scanHostKeys('127.0.0.1', port, { timeoutMs: 2_000 }).catch(
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(Error);
        expect((error as Error).message).toMatch(new RegExp(`^ssh 127\\.0\\.0\\.1:${port}: `));
      },
    );
  });
});
