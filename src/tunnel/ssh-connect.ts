import { Client } from 'ssh2';
import type { ResolvedSsh } from '../db/connection-spec.js';
import { TunnelError, describeError } from '../errors.js';
import { describeHostKey, type HostKeyInfo } from './host-key-fingerprint.js';
import { isPublicKey, usablePrivateKey, type UsableKey } from './private-key.js';

/** `user@host:port`, for messages (never the key or its passphrase). */
export function bastionLabel(ssh: Pick<ResolvedSsh, 'user' | 'host' | 'port'>): string {
  return `${ssh.user}@${ssh.host}:${ssh.port}`;
}

/** ssh2 tags its errors with the phase they happened in. */
type Ssh2Error = Error & { level?: string };

/** Turns an ssh2 error raised before `ready` into a TunnelError that says what to do. */
function connectError(ssh: ResolvedSsh, error: Ssh2Error, presented?: HostKeyInfo): TunnelError {
  const who = `ssh ${bastionLabel(ssh)}`;
  if (presented) {
    return new TunnelError(
      `${who}: host key mismatch: the server presented ${presented.label} key ` +
        `${presented.fingerprint}, expected ${ssh.fingerprints.join(' or ')}. ` +
        'Refused before authenticating. This is either a man in the middle or a changed host key: ' +
        'confirm the new fingerprint out of band (ssh-keygen -lf on the bastion) before adding it ' +
        `to ssh.fingerprint ("pgcopy fingerprint ${ssh.host}:${ssh.port}" lists the server's keys)`,
      { cause: error, code: 'TUNNEL_HOST_KEY' },
    );
  }
  if (error.level === 'client-authentication') {
    return new TunnelError(
      `${who}: authentication failed: the server did not accept the private key for user ` +
        `"${ssh.user}" (check ssh.user, and that the key's public half is in the bastion's authorized_keys)`,
      { cause: error, code: 'TUNNEL_AUTH' },
    );
  }
  if (error.level === 'client-timeout') {
    return new TunnelError(
      `${who}: no SSH handshake within ${ssh.readyTimeoutMs} ms (is the bastion reachable, and is it an SSH server?)`,
      { cause: error, code: 'TUNNEL_TIMEOUT' },
    );
  }
  if (error.level === 'client-socket') {
    return new TunnelError(`${who}: cannot reach the SSH bastion: ${error.message}`, {
      cause: error,
      code: 'TUNNEL_UNREACHABLE',
    });
  }
  return new TunnelError(`${who}: SSH connection failed: ${error.message}`, { cause: error });
}

/** Why the private key cannot be used, and what to do about it. */
function keyError(ssh: ResolvedSsh, error: unknown, privateKey?: string): TunnelError {
  const who = `ssh ${bastionLabel(ssh)}: cannot use the private key`;
  const message = describeError(error);
  const advice =
    privateKey !== undefined && isPublicKey(privateKey)
      ? 'it is a public key; give the private key'
      : /Unsupported key format/i.test(message)
        ? 'this key format is not supported; convert it to OpenSSH format with ssh-keygen -p -f FILE, ' +
          'or give PEM (PKCS#1, SEC1 or PKCS#8)'
        : 'wrong or missing passphrase?';
  return new TunnelError(`${who}: ${message} (${advice})`, { cause: error, code: 'TUNNEL_KEY' });
}

export interface SshConnectOptions {
  readonly signal?: AbortSignal | undefined;
}

/**
 * Connects and authenticates to the bastion. The host key is checked against `ssh.fingerprints`
 * during key exchange, before any authentication is attempted; a mismatch rejects with the
 * presented and the expected fingerprints.
 */
export function connectSsh(ssh: ResolvedSsh, options: SshConnectOptions = {}): Promise<Client> {
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(signal.reason as Error);
  const privateKey = ssh.privateKey;
  if (privateKey === undefined) {
    return Promise.reject(
      new TunnelError(
        `ssh ${bastionLabel(ssh)}: no private key (set ssh.keyFile or the secret's ssh field)`,
        {
          code: 'TUNNEL_KEY',
        },
      ),
    );
  }
  let key: UsableKey;
  try {
    key = usablePrivateKey(privateKey, ssh.passphrase);
  } catch (error) {
    return Promise.reject(keyError(ssh, error));
  }
  const client = new Client();
  return new Promise<Client>((resolve, reject) => {
    let presented: HostKeyInfo | undefined;
    let settled = false;
    const finish = (error: Error | undefined): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      client.off('ready', onReady);
      client.off('close', onClose);
      if (error) {
        // Keep a listener: ssh2 may emit more errors while the socket winds down.
        client.destroy();
        reject(error);
      } else {
        resolve(client);
      }
    };
    const onAbort = (): void => finish(signal?.reason as Error);
    const onReady = (): void => {
      client.setNoDelay(true);
      finish(undefined);
    };
    const onError = (error: Ssh2Error): void => {
      if (!settled) finish(connectError(ssh, error, presented));
    };
    // ssh2 reports every failure as 'error' first; a bare 'close' means the server hung up.
    const onClose = (): void =>
      finish(
        new TunnelError(
          `ssh ${bastionLabel(ssh)}: the bastion closed the connection before it was ready`,
        ),
      );
    signal?.addEventListener('abort', onAbort, { once: true });
    client.on('ready', onReady);
    client.on('error', onError);
    client.on('close', onClose);
    try {
      client.connect({
        host: ssh.host,
        port: ssh.port,
        username: ssh.user,
        privateKey: key.privateKey,
        ...(key.passphrase !== undefined ? { passphrase: key.passphrase } : {}),
        authHandler: ['publickey'],
        readyTimeout: ssh.readyTimeoutMs,
        keepaliveInterval: ssh.keepaliveIntervalMs,
        keepaliveCountMax: 3,
        // Raw key (no hostHash): checked during key exchange, before authentication.
        hostVerifier: (key: Buffer): boolean => {
          const info = describeHostKey(key);
          if (ssh.fingerprints.includes(info.fingerprint)) return true;
          presented = info;
          return false;
        },
      });
      // The socket exists once connect() returns: no Nagle delay on the SSH connection.
      client.setNoDelay(true);
    } catch (error) {
      // ssh2 throws synchronously for an unreadable key or a wrong/missing passphrase.
      finish(keyError(ssh, error, privateKey));
    }
  });
}
