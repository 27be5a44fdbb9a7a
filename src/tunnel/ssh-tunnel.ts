import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Client, ClientChannel } from 'ssh2';
import type { ResolvedSsh } from '../db/connection-spec.js';
import { TunnelError, describeError } from '../errors.js';
import { bastionLabel, connectSsh } from './ssh-connect.js';
import type { OpenTunnel, Tunnel } from './types.js';

type Destination = { readonly host: string; readonly port: number };

/** RFC 4254 section 5.1 channel-open failure reason codes. */
const OPEN_FAILURE: Readonly<Record<number, string>> = {
  1: 'administratively prohibited: is TCP forwarding allowed for this user?',
  2: 'connect failed',
  3: 'unknown channel type',
  4: 'resource shortage',
};

/**
 * Opens one direct-tcpip channel to the destination, as a promise. A bastion that never answers
 * the request fails it after `timeoutMs` (ssh2 itself would wait for ever); a channel that opens
 * after that is closed at once.
 */
function forwardOut(
  client: Client,
  ssh: ResolvedSsh,
  source: { host: string; port: number },
  destination: Destination,
): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      reject(
        new TunnelError(
          `ssh ${bastionLabel(ssh)}: the bastion did not answer a request to open a channel to ` +
            `${destination.host}:${destination.port} within ${ssh.readyTimeoutMs} ms (ssh.readyTimeout)`,
          { code: 'TUNNEL_TIMEOUT' },
        ),
      );
    }, ssh.readyTimeoutMs);
    client.forwardOut(
      source.host,
      source.port,
      destination.host,
      destination.port,
      (error, channel) => {
        clearTimeout(timer);
        if (late) {
          if (!error) channel.close();
          return;
        }
        if (error) reject(error);
        else resolve(channel);
      },
    );
  });
}

function forwardError(ssh: ResolvedSsh, destination: Destination, error: unknown): TunnelError {
  const reason = (error as { reason?: unknown }).reason;
  const description = describeError(error)
    .replace(/^\(SSH\) Channel open failure:\s*/, '')
    .trim();
  const known = typeof reason === 'number' ? OPEN_FAILURE[reason] : undefined;
  const why = [known, description].filter((s) => s !== undefined && s !== '').join(': ');
  return new TunnelError(
    `ssh ${bastionLabel(ssh)}: the bastion could not open a connection to ` +
      `${destination.host}:${destination.port} (${why || 'refused'}); is the database running, ` +
      'and reachable from the bastion on that host and port?',
    { cause: error, code: 'TUNNEL_FORWARD' },
  );
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Waits for an event, or gives up after `ms` (never keeps the process alive). */
function settleWithin(ms: number, wait: Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    timer.unref();
    void wait.then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** The promise, or the signal's reason as soon as it aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** A local listener on 127.0.0.1 whose every accepted socket is one forwarded SSH channel. */
class SshTunnel implements Tunnel {
  readonly localHost = '127.0.0.1';
  localPort = 0;
  failure: Error | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;
  private closing: Promise<void> | undefined;
  private closeRequested = false;
  private readonly clientClosed: Promise<void>;

  constructor(
    private readonly ssh: ResolvedSsh,
    private readonly destination: Destination,
    private readonly client: Client,
  ) {
    this.clientClosed = new Promise((resolve) => client.once('close', () => resolve()));
    client.on('error', (error: Error) => this.fail(error));
    client.on('close', () => this.fail(new Error('connection closed')));
    this.server = createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.server.on('error', (error) => this.fail(error));
  }

  async listen(): Promise<void> {
    this.localPort = await listen(this.server);
  }

  /** The SSH connection failed or dropped: every forwarded connection ends now. */
  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = this.closeRequested
      ? new TunnelError(`ssh ${bastionLabel(this.ssh)}: the tunnel was closed`, {
          code: 'TUNNEL_CLOSED',
        })
      : new TunnelError(
          `ssh ${bastionLabel(this.ssh)}: the SSH connection dropped (${error.message}); ` +
            `connections to ${this.destination.host}:${this.destination.port} through it were cut`,
          { cause: error, code: 'TUNNEL_DROPPED' },
        );
    this.server.close();
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  private accept(socket: Socket): void {
    socket.setNoDelay(true);
    // A socket destroyed with an error and no listener would crash the process.
    socket.on('error', () => undefined);
    if (this.failure) {
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    const source = { host: '127.0.0.1', port: socket.remotePort ?? 0 };
    forwardOut(this.client, this.ssh, source, this.destination).then(
      (channel) => {
        channel.on('error', () => undefined);
        if (socket.destroyed) {
          channel.close();
          return;
        }
        socket.pipe(channel).pipe(socket);
        socket.once('close', () => channel.destroy());
        channel.once('close', () => socket.destroy());
      },
      () => socket.destroy(),
    );
  }

  close(timeoutMs = 5_000): Promise<void> {
    this.closeRequested = true;
    this.closing ??= (async () => {
      this.fail(new Error('closed'));
      this.client.end();
      await settleWithin(timeoutMs, this.clientClosed);
      this.client.destroy();
    })();
    return this.closing;
  }
}

/**
 * Opens the SSH connection (host key pinned, checked before authentication), checks that the
 * bastion can reach the database, and listens on a random 127.0.0.1 port. Abortable until open;
 * after that, the caller closes it.
 */
export const openSshTunnel: OpenTunnel = async (ssh, destination, options = {}) => {
  const { signal } = options;
  const client = await connectSsh(ssh, { signal });
  const tunnel = new SshTunnel(ssh, destination, client);
  try {
    // One channel up front: a refused forward (database down, forwarding disabled) fails here,
    // with a clear message, instead of as "Connection terminated" in every PostgreSQL client.
    const probe = forwardOut(client, ssh, { host: '127.0.0.1', port: 0 }, destination);
    const channel = await untilAborted(probe, signal).catch((error: unknown) => {
      if (signal?.aborted) throw signal.reason as Error;
      throw error instanceof TunnelError ? error : forwardError(ssh, destination, error);
    });
    channel.on('error', () => undefined);
    channel.close();
    await tunnel.listen();
    signal?.throwIfAborted();
    return tunnel;
  } catch (error) {
    await tunnel.close(1_000);
    throw error;
  }
};
