import { createHash } from 'node:crypto';

/** `SHA256:<base64 without padding>` of a raw SSH public key blob, as `ssh-keygen -lf` prints it. */
export function hostKeyFingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/** What `ssh-keygen -lf` shows about a key besides its fingerprint. */
export interface HostKeyInfo {
  /** The key's wire type, e.g. `ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa`. */
  readonly type: string;
  /** ssh-keygen's label: `ED25519`, `ECDSA`, `RSA`, `DSA` (else the wire type). */
  readonly label: string;
  /** Key size in bits (0 when unknown). */
  readonly bits: number;
  readonly fingerprint: string;
}

/** Reads the length-prefixed strings of an SSH wire-format blob (RFC 4251 `string`/`mpint`). */
function readStrings(blob: Buffer, count: number): Buffer[] {
  const parts: Buffer[] = [];
  let offset = 0;
  for (let i = 0; i < count && offset + 4 <= blob.length; i++) {
    const length = blob.readUInt32BE(offset);
    offset += 4;
    if (offset + length > blob.length) break;
    parts.push(blob.subarray(offset, offset + length));
    offset += length;
  }
  return parts;
}

/** Bit length of an unsigned big-endian integer (an SSH mpint may carry a leading zero byte). */
function bitLength(value: Buffer): number {
  let i = 0;
  while (i < value.length && value[i] === 0) i++;
  const first = value[i];
  if (first === undefined) return 0;
  return (value.length - i - 1) * 8 + (32 - Math.clz32(first));
}

const ECDSA_BITS: Readonly<Record<string, number>> = {
  'ecdsa-sha2-nistp256': 256,
  'ecdsa-sha2-nistp384': 384,
  'ecdsa-sha2-nistp521': 521,
};

/** Type, ssh-keygen label, size and fingerprint of a raw SSH public key blob. */
export function describeHostKey(key: Buffer): HostKeyInfo {
  const fingerprint = hostKeyFingerprint(key);
  const [typeBuf, first, second] = readStrings(key, 3);
  const type = typeBuf?.toString('latin1') ?? 'unknown';
  if (type === 'ssh-ed25519') return { type, label: 'ED25519', bits: 256, fingerprint };
  const ecdsaBits = Object.hasOwn(ECDSA_BITS, type) ? ECDSA_BITS[type] : undefined;
  if (ecdsaBits !== undefined) return { type, label: 'ECDSA', bits: ecdsaBits, fingerprint };
  // ssh-rsa: string type, mpint e, mpint n.
  if (type === 'ssh-rsa')
    return { type, label: 'RSA', bits: second ? bitLength(second) : 0, fingerprint };
  // ssh-dss: string type, mpint p, q, g, y.
  if (type === 'ssh-dss')
    return { type, label: 'DSA', bits: first ? bitLength(first) : 0, fingerprint };
  return { type, label: type, bits: 0, fingerprint };
}

/** `256 SHA256:... comment (ED25519)`, the line `ssh-keygen -lf` prints for a key. */
export function keygenLine(info: HostKeyInfo, comment: string): string {
  return `${info.bits} ${info.fingerprint} ${comment} (${info.label})`;
}
