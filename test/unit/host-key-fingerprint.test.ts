import { createHash } from 'node:crypto';
import { utils } from 'ssh2';
import { describe, expect, test } from 'vitest';
import { normalizeFingerprint } from '../../src/config/fingerprint.js';
import {
  describeHostKey,
  hostKeyFingerprint,
  keygenLine,
} from '../../src/tunnel/host-key-fingerprint.js';

function sshString(value: Buffer | string): Buffer {
  const body = typeof value === 'string' ? Buffer.from(value) : value;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length);
  return Buffer.concat([length, body]);
}

function publicBlob(type: 'ecdsa' | 'rsa', bits: number): Buffer {
  const pair = utils.generateKeyPairSync(type, { bits });
  const key = utils.parseKey(pair.public);
  if (key instanceof Error) throw key;
  return key.getPublicSSH();
}

describe('host key fingerprints', () => {
  test('SHA256 of the raw key, base64 without padding, as ssh-keygen -lf', () => {
    const blob = Buffer.from('any key blob');
    const expected = createHash('sha256').update(blob).digest('base64');
    expect(expected.endsWith('=')).toBe(true);
    expect(hostKeyFingerprint(blob)).toBe(`SHA256:${expected.replace(/=+$/, '')}`);
    // The config's normalisation accepts exactly this form.
    expect(normalizeFingerprint(hostKeyFingerprint(blob))).toBe(hostKeyFingerprint(blob));
  });

  test.each([
    ['ecdsa', 256, 'ECDSA', 'ecdsa-sha2-nistp256'],
    ['ecdsa', 384, 'ECDSA', 'ecdsa-sha2-nistp384'],
    ['ecdsa', 521, 'ECDSA', 'ecdsa-sha2-nistp521'],
    ['rsa', 1024, 'RSA', 'ssh-rsa'],
  ] as const)('%s %i bits', (type, bits, label, wireType) => {
    const info = describeHostKey(publicBlob(type, bits));
    expect(info).toMatchObject({ type: wireType, label, bits });
  });

  test('DSA keys report the bit length of p', () => {
    const p = Buffer.concat([Buffer.from([0x00, 0x80]), Buffer.alloc(127, 1)]); // 1024 bits
    const blob = Buffer.concat([sshString('ssh-dss'), sshString(p), sshString(Buffer.from([1]))]);
    expect(describeHostKey(blob)).toMatchObject({ type: 'ssh-dss', label: 'DSA', bits: 1024 });
  });

  test('unknown and truncated blobs still get a fingerprint', () => {
    const unknown = describeHostKey(sshString('sk-ssh-ed25519@openssh.com'));
    expect(unknown).toMatchObject({ label: 'sk-ssh-ed25519@openssh.com', bits: 0 });
    const truncated = Buffer.from([0, 0, 0, 9, 1]);
    expect(describeHostKey(truncated)).toMatchObject({ type: 'unknown', bits: 0 });
    expect(describeHostKey(sshString('ssh-rsa'))).toMatchObject({ label: 'RSA', bits: 0 });
    expect(describeHostKey(sshString('ssh-dss'))).toMatchObject({ label: 'DSA', bits: 0 });
    const zeroModulus = Buffer.concat([
      sshString('ssh-rsa'),
      sshString('e'),
      sshString(Buffer.alloc(3)),
    ]);
    expect(describeHostKey(zeroModulus).bits).toBe(0);
  });

  test('keygenLine prints bits, fingerprint, comment and label like ssh-keygen -lf', () => {
    expect(
      keygenLine(
        { type: 'ssh-ed25519', label: 'ED25519', bits: 256, fingerprint: 'SHA256:x' },
        'h',
      ),
    ).toBe('256 SHA256:x h (ED25519)');
  });
});
