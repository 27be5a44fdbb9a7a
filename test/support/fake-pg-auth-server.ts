import { createServer, type AddressInfo, type Socket } from 'node:net';
import { TLSSocket } from 'node:tls';

/** What a client sent to the fake server: its startup parameters and any password message. */
export interface AuthAttempt {
  readonly startup: Readonly<Record<string, string>>;
  password: string | undefined;
  /** Whether the client spoke TLS before it sent its startup message. */
  readonly encrypted: boolean;
}

export interface FakeAuthServer {
  readonly port: number;
  readonly attempts: readonly AuthAttempt[];
  close(): Promise<void>;
}

function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

function message(type: string, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(type), int32(body.length + 4), body]);
}

function parseStartup(body: Buffer): Record<string, string> {
  const fields = body.subarray(4).toString('utf8').split('\0');
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length && fields[i] !== ''; i += 2) {
    out[fields[i] ?? ''] = fields[i + 1] ?? '';
  }
  return out;
}

/** The server's certificate and key, to accept TLS (SSLRequest answered 'S'). */
export interface FakeAuthServerTls {
  readonly cert: string;
  readonly key: string;
}

/**
 * A stand-in PostgreSQL server that refuses TLS (or, given a certificate, accepts it), asks every
 * client for a cleartext password, records what it is sent, and refuses the login: a hostile
 * server harvesting passwords.
 */
export async function startFakeAuthServer(
  options: { readonly tls?: FakeAuthServerTls } = {},
): Promise<FakeAuthServer> {
  const attempts: AuthAttempt[] = [];
  const sockets = new Set<Socket>();
  const serve = (stream: Socket): void => {
    let buffer = Buffer.alloc(0);
    let attempt: AuthAttempt | undefined;
    const onData = (chunk: Buffer): void => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        if (!attempt) {
          if (buffer.length < 8) return;
          const length = buffer.readInt32BE(0);
          if (buffer.length < length) return;
          const body = buffer.subarray(4, length);
          buffer = buffer.subarray(length);
          if (body.readInt32BE(0) === 80877103) {
            if (!options.tls) {
              stream.write('N'); // SSLRequest: no TLS here
              continue;
            }
            stream.off('data', onData);
            stream.write('S');
            const secure = new TLSSocket(stream, { isServer: true, ...options.tls });
            secure.on('error', () => undefined);
            serve(secure);
            return;
          }
          attempt = {
            startup: parseStartup(body),
            password: undefined,
            encrypted: stream instanceof TLSSocket,
          };
          attempts.push(attempt);
          stream.write(message('R', int32(3))); // AuthenticationCleartextPassword
          continue;
        }
        if (buffer.length < 5) return;
        const length = buffer.readInt32BE(1);
        if (buffer.length < length + 1) return;
        if (buffer.toString('utf8', 0, 1) === 'p') {
          attempt.password = buffer.toString('utf8', 5, length).replace(/\0$/, '');
        }
        buffer = buffer.subarray(length + 1);
        const error = Buffer.from('SFATAL\0C28P01\0Mpassword authentication failed\0\0');
        stream.end(message('E', error));
        return;
      }
    };
    stream.on('data', onData);
  };
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    serve(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    attempts,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
