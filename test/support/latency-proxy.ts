import { createServer, connect, type Server, type Socket } from 'node:net';

/** What a proxy saw since it started or was last reset. */
export interface ProxyCounts {
  /** TCP connections opened through it. */
  readonly connections: number;
  /**
   * Round trips: the times a client spoke again after the server had answered (a query and its
   * answer, an authentication step). A COPY streaming in one direction is one.
   */
  readonly roundTrips: number;
}

/**
 * A TCP proxy on loopback in front of one server that holds every chunk `delayMs` in each
 * direction, as a network path of 2 x delayMs round-trip time would, and counts connections and
 * round trips. Order is kept: chunks of one direction leave in the order they came.
 */
export class LatencyProxy {
  delayMs = 0;
  private connections = 0;
  private roundTrips = 0;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(upstream: { host: string; port: number }): Promise<LatencyProxy> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no proxy port');
    const proxy = new LatencyProxy(server, address.port);
    server.on('connection', (client: Socket) => proxy.accept(client, upstream));
    return proxy;
  }

  counts(): ProxyCounts {
    return { connections: this.connections, roundTrips: this.roundTrips };
  }

  reset(): void {
    this.connections = 0;
    this.roundTrips = 0;
  }

  private accept(client: Socket, upstream: { host: string; port: number }): void {
    this.connections += 1;
    const server = connect(upstream.port, upstream.host);
    for (const socket of [client, server]) {
      socket.setNoDelay(true);
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      // Either end going away takes the other with it; an error is not the benchmark's concern.
      socket.on('error', () => undefined);
    }
    let serverAnswered = true;
    this.relay(client, server, () => {
      if (serverAnswered) this.roundTrips += 1;
      serverAnswered = false;
    });
    this.relay(server, client, () => (serverAnswered = true));
  }

  /** Forwards `from` to `to` after the delay; `from` ending (or failing) ends `to` in turn. */
  private relay(from: Socket, to: Socket, onChunk: () => void): void {
    const later = (action: () => void): void => {
      if (this.delayMs === 0) action();
      else setTimeout(action, this.delayMs);
    };
    from.on('data', (chunk: Buffer) => {
      onChunk();
      later(() => {
        if (!to.destroyed) to.write(chunk);
      });
    });
    from.on('end', () => later(() => to.end()));
    from.on('close', (hadError) => {
      if (hadError) later(() => to.destroy());
    });
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
