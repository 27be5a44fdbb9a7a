import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { to as copyTo } from 'pg-copy-streams';
import { describe, expect, it } from 'vitest';
import { CopyByteCounter } from '../../src/copy/byte-counter.js';
import { connect, servers } from '../support/db.js';

/** A real COPY stream as the source sends it, in the chunks pg-copy-streams delivers. */
async function capture(format: 'binary' | 'text'): Promise<Buffer[]> {
  const client = await connect(servers().source);
  try {
    const chunks: Buffer[] = [];
    await pipeline(
      client.query(
        copyTo(
          `COPY (SELECT g, CASE WHEN g % 3 = 0 THEN NULL ELSE repeat('é', g % 50) END
                 FROM generate_series(1, 20000) g) TO STDOUT WITH (FORMAT ${format})`,
        ),
      ),
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          chunks.push(chunk);
          callback();
        },
      }),
    );
    return chunks;
  } finally {
    await client.end();
  }
}

/** The chunks through a counter: what came out (the buffers themselves), the bytes and progress calls. */
async function through(
  chunks: readonly Buffer[],
): Promise<{ out: Buffer[]; bytes: number; seen: number[] }> {
  const seen: number[] = [];
  const counter = new CopyByteCounter((bytes) => seen.push(bytes));
  const out: Buffer[] = [];
  await pipeline(
    Readable.from(chunks, { objectMode: false }),
    counter,
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        out.push(chunk);
        callback();
      },
    }),
  );
  return { out, bytes: counter.bytes, seen };
}

describe('CopyByteCounter: the stream path does no per-row work and copies no buffer', () => {
  for (const format of ['binary', 'text'] as const) {
    it(`passes a real ${format} COPY stream through as the same buffers and counts its bytes`, async () => {
      const chunks = await capture(format);
      const total = chunks.reduce((n, c) => n + c.length, 0);
      const { out, bytes, seen } = await through(chunks);
      expect(bytes).toBe(total);
      // The very same Buffer objects, in order: nothing was concatenated, copied or re-sliced.
      expect(out.length).toBe(chunks.length);
      expect(out.every((c, i) => c === chunks[i])).toBe(true);
      // Progress once per chunk, the running total each time.
      expect(seen.length).toBe(chunks.length);
      expect(seen.at(-1)).toBe(total);
      expect(seen.every((n, i) => i === 0 || n > (seen[i - 1] ?? 0))).toBe(true);
    });
  }

  it('counts bytes whatever the chunking, without a progress listener', async () => {
    const data = Buffer.concat(await capture('binary'));
    const pieces = [data.subarray(0, 1), data.subarray(1, 7), data.subarray(7)];
    const counter = new CopyByteCounter();
    await pipeline(
      Readable.from(pieces, { objectMode: false }),
      counter,
      new Writable({ write: (_c, _e, cb) => cb() }),
    );
    expect(counter.bytes).toBe(data.length);
  });
});
