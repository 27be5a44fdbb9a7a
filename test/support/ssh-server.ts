import { connect as netConnect, createServer, type Socket } from 'node:net';
import { Server, utils, type Connection, type ParsedKey } from 'ssh2';
import type { ResolvedSsh } from '../../src/db/connection-spec.js';
import { hostKeyFingerprint } from '../../src/tunnel/host-key-fingerprint.js';

/** An SSH key pair in OpenSSH format. */
export interface KeyPair {
  readonly private: string;
  readonly public: string;
}

/**
 * A fresh key pair. ssh2 1.17's generator emits a malformed ed25519 key (31-byte public part, ~0.5%
 * of keys, when the key starts with a zero byte) that its own parser rejects: retry those.
 */
export function generateKeyPair(
  type: 'ed25519' | 'ecdsa' | 'rsa' = 'ed25519',
  passphrase?: string,
): KeyPair {
  const encryption =
    passphrase !== undefined ? { passphrase, cipher: 'aes256-cbc', rounds: 16 } : undefined;
  for (;;) {
    const pair =
      type === 'rsa'
        ? utils.generateKeyPairSync('rsa', { bits: 2048, ...encryption })
        : type === 'ecdsa'
          ? utils.generateKeyPairSync('ecdsa', { bits: 256, ...encryption })
          : utils.generateKeyPairSync('ed25519', encryption);
    if (!(utils.parseKey(pair.private, passphrase) instanceof Error)) {
      return { private: pair.private, public: pair.public };
    }
  }
}

function parsed(key: string): ParsedKey {
  const result = utils.parseKey(key);
  if (result instanceof Error) throw result;
  return result;
}

/** `SHA256:...` of an OpenSSH public (or private) key, as ssh-keygen -lf prints it. */
export function fingerprintOf(key: string): string {
  return hostKeyFingerprint(parsed(key).getPublicSSH());
}

export interface TestSshServer {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** The fingerprint of the server's host key. */
  readonly fingerprint: string;
  /** A key the server accepts for `user`. */
  readonly clientKey: KeyPair;
  /** Every authentication request the server received (any method, any outcome). */
  readonly authAttempts: number;
  /** SSH connections accepted (TCP level). */
  readonly connections: number;
  /** direct-tcpip channels opened. */
  readonly forwards: number;
  /** Destroys every client connection and forwarded socket at once, as a network failure would. */
  killConnections(): void;
  /** Leave every port-forward request unanswered (a bastion that logs in, then hangs). */
  ignoreForwards: boolean;
  stop(): Promise<void>;
}

export interface TestSshServerOptions {
  readonly user?: string;
  readonly hostKey?: KeyPair;
  readonly clientKey?: KeyPair;
}

/**
 * The ssh2 package's Server on a random 127.0.0.1 port: public-key authentication for one user,
 * and direct-tcpip forwarding to loopback addresses only (the test PostgreSQL servers).
 */
export async function startSshServer(options: TestSshServerOptions = {}): Promise<TestSshServer> {
  const user = options.user ?? 'tunnel';
  const hostKey = options.hostKey ?? generateKeyPair('ed25519');
  const clientKey = options.clientKey ?? generateKeyPair('ed25519');
  const allowed = parsed(clientKey.public);
  const sockets = new Set<Socket>();
  let authAttempts = 0;
  let connections = 0;
  let forwards = 0;

  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('close', () => sockets.delete(socket));
  };

  const ssh = new Server({ hostKeys: [hostKey.private] }, (client: Connection) => {
    client.on('error', () => undefined);
    client.on('authentication', (ctx) => {
      authAttempts += 1;
      if (ctx.method !== 'publickey' || ctx.username !== user) {
        ctx.reject(['publickey']);
        return;
      }
      const sameKey = ctx.key.algo === allowed.type && ctx.key.data.equals(allowed.getPublicSSH());
      if (!sameKey) {
        ctx.reject(['publickey']);
        return;
      }
      if (ctx.signature && ctx.blob) {
        if (allowed.verify(ctx.blob, ctx.signature, ctx.hashAlgo)) ctx.accept();
        else ctx.reject(['publickey']);
        return;
      }
      ctx.accept(); // the key is acceptable: the client signs next
    });
    client.on('ready', () => {
      client.on('tcpip', (accept, reject, info) => {
        if (state.ignoreForwards) return;
        if (!['127.0.0.1', 'localhost'].includes(info.destIP)) {
          reject();
          return;
        }
        const upstream = netConnect({ host: info.destIP, port: info.destPort, noDelay: true });
        track(upstream);
        upstream.once('error', () => reject());
        upstream.once('connect', () => {
          forwards += 1;
          const channel = accept();
          channel.on('error', () => undefined);
          channel.pipe(upstream).pipe(channel);
          channel.once('close', () => upstream.destroy());
          upstream.once('close', () => channel.destroy());
        });
      });
    });
  });
  ssh.on('error', () => undefined);

  const listener = createServer({ noDelay: true }, (socket) => {
    connections += 1;
    track(socket);
    ssh.injectSocket(socket);
  });
  const port = await new Promise<number>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(0, '127.0.0.1', () => {
      const address = listener.address();
      resolve(typeof address === 'object' && address ? address.port : 0);
    });
  });

  const state: TestSshServer = {
    ignoreForwards: false,
    host: '127.0.0.1',
    port,
    user,
    fingerprint: fingerprintOf(hostKey.public),
    clientKey,
    get authAttempts() {
      return authAttempts;
    },
    get connections() {
      return connections;
    },
    get forwards() {
      return forwards;
    },
    killConnections() {
      for (const socket of sockets) socket.destroy();
    },
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => listener.close(() => resolve()));
    },
  };
  return state;
}

/** The ResolvedSsh settings that reach a test SSH server (overrides for the failure cases). */
export function sshSettingsFor(
  server: { host: string; port: number; user: string; clientKey: KeyPair },
  fingerprints: readonly string[],
  overrides: Partial<ResolvedSsh> = {},
): ResolvedSsh {
  return {
    host: server.host,
    port: server.port,
    user: server.user,
    fingerprints,
    privateKey: server.clientKey.private,
    readyTimeoutMs: 5_000,
    keepaliveIntervalMs: 10_000,
    ...overrides,
  };
}
