import { createServer, connect, type Server, type Socket } from 'node:net';

/** When the proxy cuts: the first simple query whose text matches, sent on or held back. */
export interface Cut {
  readonly query: RegExp;
  /** true: the server gets the query, the client never hears back; false: neither gets it. */
  readonly forward: boolean;
}

/**
 * A TCP proxy on loopback in front of one PostgreSQL server that reads the client's protocol
 * messages and, once armed, cuts the connection at the first simple query ('Q') matching the
 * cut: after passing it to the server (the server commits, the client never learns it) or before
 * (the server never gets it). Everything else passes untouched. No TLS (sslmode disable).
 */
export class CommitCutProxy {
  private cut: Cut | undefined;
  private readonly sockets = new Set<Socket>();
  /** The queries cut so far. */
  readonly cuts: string[] = [];

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(upstream: { host: string; port: number }): Promise<CommitCutProxy> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no proxy port');
    const proxy = new CommitCutProxy(server, address.port);
    server.on('connection', (client: Socket) => proxy.accept(client, upstream));
    return proxy;
  }

  /** Cuts at the next matching query (once). */
  arm(cut: Cut): void {
    this.cut = cut;
  }

  private accept(client: Socket, upstream: { host: string; port: number }): void {
    const server = connect(upstream.port, upstream.host);
    for (const socket of [client, server]) {
      socket.setNoDelay(true);
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    // Once cut, nothing the server says reaches the client.
    let severed = false;
    const cutBoth = (): void => {
      client.destroy();
      server.destroy();
    };
    // The client's bytes, split into whole messages; the startup message has no type byte.
    let pending = Buffer.alloc(0);
    let started = false;
    client.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        const header = started ? 5 : 4;
        if (pending.length < header) return;
        const length = pending.readInt32BE(started ? 1 : 0) + (started ? 1 : 0);
        if (pending.length < length) return;
        const message = pending.subarray(0, length);
        pending = pending.subarray(length);
        started = true;
        const cut = this.cut;
        if (cut && message[0] === 0x51) {
          const text = message.subarray(5, message.length - 1).toString('utf8');
          if (cut.query.test(text)) {
            this.cut = undefined;
            this.cuts.push(text);
            severed = true;
            if (cut.forward) server.write(message, cutBoth);
            else cutBoth();
            return;
          }
        }
        if (!server.destroyed) server.write(message);
      }
    });
    client.on('end', () => server.end());
    server.on('data', (chunk: Buffer) => {
      if (!severed && !client.destroyed) client.write(chunk);
    });
    server.on('end', () => client.end());
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
