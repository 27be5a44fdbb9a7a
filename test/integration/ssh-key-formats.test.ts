import { generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { utils } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Connector } from '../../src/db/connector.js';
import { openSshTunnel } from '../../src/tunnel/ssh-tunnel.js';
import { usablePrivateKey } from '../../src/tunnel/private-key.js';
import { cli, workDir } from '../support/cli.js';
import { servers } from '../support/db.js';
import {
  sshSettingsFor,
  startSshServer,
  type KeyPair,
  type TestSshServer,
} from '../support/ssh-server.js';

const s = servers();

/** A PKCS#8 PEM private key (as openssl genpkey and ssh-keygen -m PKCS8 write), and its OpenSSH public line. */
function pkcs8Pair(type: 'ed25519' | 'rsa' | 'ec', passphrase?: string): KeyPair {
  const options =
    type === 'rsa' ? { modulusLength: 2048 } : type === 'ec' ? { namedCurve: 'prime256v1' } : {};
  const { privateKey } = generateKeyPairSync(
    type as 'ed25519',
    {
      ...options,
      privateKeyEncoding: {
        type: 'pkcs8',
        format: 'pem',
        ...(passphrase !== undefined ? { cipher: 'aes-256-cbc', passphrase } : {}),
      },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    } as never,
  ) as unknown as { privateKey: string };
  const parsed = utils.parseKey(usablePrivateKey(privateKey, passphrase).privateKey);
  if (parsed instanceof Error) throw parsed;
  return {
    private: privateKey,
    public: `${parsed.type} ${parsed.getPublicSSH().toString('base64')}`,
  };
}

describe('PKCS#8 private keys are converted and log in', () => {
  it.each([
    ['Ed25519', 'ed25519', undefined],
    ['RSA', 'rsa', undefined],
    ['ECDSA', 'ec', undefined],
    ['encrypted Ed25519', 'ed25519', 'key-pass'],
  ] as const)('%s (BEGIN PRIVATE KEY)', async (_what, type, passphrase) => {
    const clientKey = pkcs8Pair(type, passphrase);
    expect(clientKey.private).toMatch(/-----BEGIN (ENCRYPTED )?PRIVATE KEY-----/);
    const bastion = await startSshServer({ clientKey });
    try {
      const ssh = sshSettingsFor(bastion, [bastion.fingerprint], {
        ...(passphrase !== undefined ? { passphrase } : {}),
      });
      const connector = new Connector(
        {
          name: 'source',
          host: s.source.host,
          port: s.source.port,
          database: 'postgres',
          user: s.source.user,
          password: s.source.password,
          sslmode: 'disable',
          ssh,
        },
        { openTunnel: openSshTunnel },
      );
      try {
        const client = await connector.connect();
        expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
        await client.end();
      } finally {
        await connector.close();
      }
    } finally {
      await bastion.stop();
    }
  });

  it('a wrong passphrase or an unsupported format says what to do', async () => {
    const bastion = await startSshServer();
    try {
      const tryKey = (privateKey: string, passphrase?: string) =>
        openSshTunnel(
          sshSettingsFor(bastion, [bastion.fingerprint], {
            privateKey,
            ...(passphrase !== undefined ? { passphrase } : {}),
          }),
          { host: s.source.host, port: s.source.port },
        ).then(
          () => '',
          (e: unknown) => (e as Error).message,
        );
      expect(await tryKey(pkcs8Pair('ed25519', 'right').private, 'wrong')).toMatch(
        /cannot use the private key: .*\(wrong or missing passphrase\?\)$/,
      );
      expect(
        await tryKey('-----BEGIN SOME PRIVATE KEY-----\nAAAA\n-----END SOME PRIVATE KEY-----\n'),
      ).toMatch(/convert it to OpenSSH format with ssh-keygen -p -f FILE/);
      expect(await tryKey(bastion.clientKey.public)).toMatch(
        /it is a public key; give the private key\)$/,
      );
    } finally {
      await bastion.stop();
    }
  });
});

describe('keyFile checks', () => {
  let bastion: TestSshServer;
  let work: Awaited<ReturnType<typeof workDir>>;
  beforeAll(async () => {
    bastion = await startSshServer();
    work = await workDir({});
  });
  afterAll(async () => {
    await work.cleanup();
    await bastion.stop();
  });

  async function checkWithKey(keyFile: string) {
    await writeFile(
      work.file,
      JSON.stringify({
        source: {
          host: s.source.host,
          port: s.source.port,
          database: 'postgres',
          user: s.source.user,
          password: s.source.password,
          sslmode: 'disable',
          ssh: {
            host: bastion.host,
            port: bastion.port,
            user: bastion.user,
            fingerprint: bastion.fingerprint,
            keyFile,
          },
        },
        targets: [{ name: 'db_1', host: '127.0.0.1', database: 'x', user: 'u', tables: ['t'] }],
      }),
    );
    return cli(['check', '-c', work.file], { cwd: work.dir });
  }

  it('a .pub file given as keyFile says so', async () => {
    const pub = join(work.dir, 'id_ed25519.pub');
    await writeFile(pub, bastion.clientKey.public + '\n', { mode: 0o600 });
    const result = await checkWithKey(pub);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `pgcopy: source.ssh.keyFile: ${pub} is a public key; give the private key (usually the same path without .pub)\n`,
    );
  });

  it('a private key file readable by group or others is refused, as OpenSSH does', async () => {
    const open = join(work.dir, 'id_open');
    await writeFile(open, bastion.clientKey.private, { mode: 0o644 });
    const result = await checkWithKey(open);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `pgcopy: source.ssh.keyFile: ${open} is readable by others than its owner (mode 0644); run chmod 600 ${open} (OpenSSH refuses such keys too)\n`,
    );
    const closed = join(work.dir, 'id_closed');
    await writeFile(closed, bastion.clientKey.private, { mode: 0o600 });
    const ok = await checkWithKey(closed);
    expect(ok.stdout).toMatch(/source \(.*via ssh.*\)\n {2}server/);
  });
});
