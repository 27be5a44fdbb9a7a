import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { to as copyTo } from 'pg-copy-streams';
import { connect } from './db.js';
import type { ServerInfo } from './server-info.js';

/** A sink that keeps every chunk written to it. */
export function collector(): Writable & { readonly chunks: Buffer[] } {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
  });
  return Object.assign(sink, { chunks });
}

/** The bytes PostgreSQL sends for `COPY (query) TO STDOUT` in a format, as one buffer. */
export async function captureCopy(
  server: ServerInfo,
  query: string,
  format: 'binary' | 'text',
): Promise<Buffer> {
  const client = await connect(server);
  try {
    const sink = collector();
    await pipeline(client.query(copyTo(`COPY (${query}) TO STDOUT WITH (FORMAT ${format})`)), sink);
    return Buffer.concat(sink.chunks);
  } finally {
    await client.end();
  }
}
