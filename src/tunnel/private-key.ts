import { createPrivateKey, randomBytes, type KeyObject } from 'node:crypto';

/**
 * Private keys in the formats ssh2 reads (OpenSSH, PKCS#1 RSA, SEC1 EC, PuTTY), converting the
 * PKCS#8 PEM that `openssl genpkey` and `ssh-keygen -m PKCS8` write (`BEGIN PRIVATE KEY`,
 * `BEGIN ENCRYPTED PRIVATE KEY`), which ssh2 rejects as "Unsupported key format".
 */

const PKCS8 = /-----BEGIN (ENCRYPTED )?PRIVATE KEY-----/;
const PUBLIC_KEY =
  /^\s*(ssh-(ed25519|rsa|dss)|ecdsa-sha2-\S+|sk-\S+)\s+AAAA|-----BEGIN (SSH2 |RSA )?PUBLIC KEY-----/;

/** True for the text of a public key (an OpenSSH `.pub` line or a PEM public key). */
export function isPublicKey(text: string): boolean {
  return PUBLIC_KEY.test(text);
}

/** The key for ssh2, and the passphrase still needed (none once a PKCS#8 key is converted). */
export interface UsableKey {
  readonly privateKey: string;
  readonly passphrase?: string;
}

/**
 * Returns the key as ssh2 can read it. A PKCS#8 key is decrypted (with the passphrase) and
 * re-encoded in memory only: RSA as PKCS#1, EC as SEC1, Ed25519 as an unencrypted OpenSSH key.
 * Throws Node's error for a wrong passphrase or an unknown key type; the caller words it.
 */
export function usablePrivateKey(privateKey: string, passphrase: string | undefined): UsableKey {
  if (!PKCS8.test(privateKey)) {
    return { privateKey, ...(passphrase !== undefined ? { passphrase } : {}) };
  }
  const key = createPrivateKey({
    key: privateKey,
    format: 'pem',
    ...(passphrase !== undefined ? { passphrase } : {}),
  });
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return { privateKey: key.export({ type: 'pkcs1', format: 'pem' }).toString() };
    case 'ec':
      return { privateKey: key.export({ type: 'sec1', format: 'pem' }).toString() };
    case 'ed25519':
      return { privateKey: openSshEd25519(key) };
    default:
      throw new Error(
        `a PKCS#8 ${String(key.asymmetricKeyType)} key is not supported for SSH (use Ed25519, ECDSA or RSA)`,
      );
  }
}

function sshString(data: Buffer | string): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data) : data;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length);
  return Buffer.concat([length, body]);
}

function uint32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/** An Ed25519 key in the unencrypted `openssh-key-v1` format (PROTOCOL.key in OpenSSH). */
function openSshEd25519(key: KeyObject): string {
  const jwk = key.export({ format: 'jwk' });
  const seed = Buffer.from(jwk.d ?? '', 'base64url');
  const pub = Buffer.from(jwk.x ?? '', 'base64url');
  const publicBlob = Buffer.concat([sshString('ssh-ed25519'), sshString(pub)]);
  const check = randomBytes(4);
  let block = Buffer.concat([
    check,
    check,
    sshString('ssh-ed25519'),
    sshString(pub),
    sshString(Buffer.concat([seed, pub])),
    sshString(''),
  ]);
  const padding = Buffer.from([1, 2, 3, 4, 5, 6, 7].slice(0, (8 - (block.length % 8)) % 8));
  block = Buffer.concat([block, padding]);
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0'),
    sshString('none'),
    sshString('none'),
    sshString(''),
    uint32(1),
    sshString(publicBlob),
    sshString(block),
  ]);
  const lines = body.toString('base64').match(/.{1,70}/g) ?? [];
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`;
}
