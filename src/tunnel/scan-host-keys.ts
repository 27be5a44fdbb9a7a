import { Client, type ServerHostKeyAlgorithm } from 'ssh2';
import { TunnelError } from '../errors.js';
import { describeHostKey, type HostKeyInfo } from './host-key-fingerprint.js';

export interface HostKeyScan {
  /** Every distinct host key the server offered, in ssh-keyscan's order (RSA, ECDSA, ED25519). */
  readonly keys: readonly HostKeyInfo[];
  /** The key ssh2 (so pgcopy) negotiates with its default algorithm preferences. */
  readonly negotiated: HostKeyInfo;
}

export interface ScanOptions {
  readonly signal?: AbortSignal | undefined;
  /** Per-connection handshake timeout (default 10 s). */
  readonly timeoutMs?: number;
}

/** One connection per key family: a server has at most one key of each. */
const FAMILIES: readonly (readonly ServerHostKeyAlgorithm[])[] = [
  ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
  ['ecdsa-sha2-nistp256'],
  ['ecdsa-sha2-nistp384'],
  ['ecdsa-sha2-nistp521'],
  ['ssh-ed25519'],
];

type Ssh2Error = Error & { level?: string };

/**
 * Connects once, records the host key the server presents for the offered algorithms and
 * disconnects inside the host-key check: nothing is ever authenticated. Resolves undefined when
 * the server has no key of that kind.
 */
function presentedKey(
  host: string,
  port: number,
  algorithms: readonly ServerHostKeyAlgorithm[] | undefined,
  options: ScanOptions,
): Promise<HostKeyInfo | undefined> {
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(signal.reason as Error);
  return new Promise((resolve, reject) => {
    const client = new Client();
    let key: HostKeyInfo | undefined;
    let settled = false;
    const finish = (error?: Error): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      client.destroy();
      if (error) reject(error);
      else resolve(key);
    };
    const onAbort = (): void => finish(signal?.reason as Error);
    signal?.addEventListener('abort', onAbort, { once: true });
    client.on('error', (error: Ssh2Error) => {
      if (key || (error.level === 'handshake' && /host key/i.test(error.message))) {
        finish(); // got it, or the server has no key of that kind
        return;
      }
      const where = `${host}:${port}`;
      finish(
        error.level === 'client-timeout'
          ? new TunnelError(
              `ssh ${where}: no SSH handshake within ${options.timeoutMs ?? 10_000} ms`,
              {
                cause: error,
                code: 'TUNNEL_TIMEOUT',
              },
            )
          : new TunnelError(`ssh ${where}: cannot read the host key: ${error.message}`, {
              cause: error,
              code: error.level === 'client-socket' ? 'TUNNEL_UNREACHABLE' : 'TUNNEL',
            }),
      );
    });
    client.on('close', () => finish());
    client.connect({
      host,
      port,
      username: 'pgcopy-fingerprint',
      readyTimeout: options.timeoutMs ?? 10_000,
      authHandler: [],
      ...(algorithms ? { algorithms: { serverHostKey: [...algorithms] } } : {}),
      hostVerifier: (raw: Buffer): boolean => {
        key = describeHostKey(raw);
        return false; // disconnect before authentication
      },
    });
    client.setNoDelay(true);
  });
}

/** Every host key the server at host:port offers, and the one pgcopy's tunnel negotiates. */
export async function scanHostKeys(
  host: string,
  port: number,
  options: ScanOptions = {},
): Promise<HostKeyScan> {
  const negotiated = await presentedKey(host, port, undefined, options);
  if (!negotiated) {
    throw new TunnelError(
      `ssh ${host}:${port}: the server offers no host key type pgcopy supports`,
    );
  }
  // The families cover every algorithm ssh2 offers by default, so they include `negotiated`.
  const found = await Promise.all(
    FAMILIES.map((algorithms) => presentedKey(host, port, algorithms, options)),
  );
  const keys: HostKeyInfo[] = [];
  for (const key of found) {
    if (key && !keys.some((k) => k.fingerprint === key.fingerprint)) keys.push(key);
  }
  return { keys, negotiated };
}
