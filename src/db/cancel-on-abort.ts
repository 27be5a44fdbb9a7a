import { connect } from 'node:net';
import type pg from 'pg';

/** The parts of a connected pg client that a cancel request needs (set by pg at login). */
interface BackendKey {
  readonly processID: number | null;
  readonly secretKey: number | null;
}

/** PostgreSQL's CancelRequest: length 16, code 80877102, the backend's pid and secret key. */
function cancelPacket(pid: number, key: number): Buffer {
  const packet = Buffer.alloc(16);
  packet.writeInt32BE(16, 0);
  packet.writeInt32BE(80877102, 4);
  packet.writeInt32BE(pid, 8);
  packet.writeInt32BE(key, 12);
  return packet;
}

/**
 * Sends a cancel request for one backend over a fresh connection to the same address (through the
 * tunnel's local port, when there is one), as libpq's PQcancel does. Best effort, bounded in time.
 */
export function sendCancel(
  address: { host: string; port: number },
  backend: BackendKey,
  timeoutMs: number,
): Promise<void> {
  const { processID, secretKey } = backend;
  if (processID === null || secretKey === null) return Promise.resolve();
  return new Promise((resolve) => {
    const socket = connect(address.port, address.host);
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    socket.on('error', done);
    socket.on('close', done);
    socket.on('connect', () => socket.end(cancelPacket(processID, secretKey)));
  });
}

export interface CancelOnAbortOptions {
  /** How long the statements get to end after the cancel request before sockets are destroyed. */
  readonly graceMs?: number;
}

/**
 * Makes an abort reach the servers. When the signal fires, every open client of the endpoint has
 * its running statement cancelled on the server (a lock wait, a long query), so that the ROLLBACKs
 * that follow run at once; whatever is still open after a short grace period (a frozen backend, a
 * dead network) has its socket destroyed, which fails its pending queries. A run then ends within
 * seconds whatever the servers do.
 */
export class CancelOnAbort {
  private readonly clients = new Map<pg.Client, { host: string; port: number }>();
  private destroyAt: number | undefined;
  private readonly graceMs: number;
  private readonly onAbort = (): void => this.abortAll();

  constructor(
    private readonly signal: AbortSignal | undefined,
    options: CancelOnAbortOptions = {},
  ) {
    this.graceMs = options.graceMs ?? 2_000;
    signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  /** Stops listening (the endpoint is closed; a caller's long-lived signal keeps no reference). */
  dispose(): void {
    this.signal?.removeEventListener('abort', this.onAbort);
  }

  /** Watches one connected client until it ends. */
  track(client: pg.Client, address: { host: string; port: number }): void {
    this.clients.set(client, address);
    client.once('end', () => this.clients.delete(client));
    // Connected while the abort was already under way: same fate as the others.
    if (this.destroyAt !== undefined) this.destroyLater(client, this.destroyAt - Date.now());
  }

  private abortAll(): void {
    this.destroyAt = Date.now() + this.graceMs;
    for (const [client, address] of this.clients) {
      void sendCancel(address, client as unknown as BackendKey, this.graceMs);
      this.destroyLater(client, this.graceMs);
    }
  }

  private destroyLater(client: pg.Client, ms: number): void {
    const timer = setTimeout(
      () => {
        if (this.clients.has(client)) client.connection.stream.destroy();
      },
      Math.max(0, ms),
    );
    // Never the reason the process stays up: once everything else is done, nothing is left here.
    timer.unref();
  }
}
