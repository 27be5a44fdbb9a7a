import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { to as copyTo } from 'pg-copy-streams';
import { beforeAll, describe, expect, it } from 'vitest';
import { CopyRowCounter, type CopyCounts } from '../../src/copy/row-counter.js';
import { connect, servers } from '../support/db.js';

/** The rows of the captured streams: NULLs, empty strings, multi-byte text, escapes, wide values. */
const ROWS_SQL = `SELECT * FROM (VALUES
    (1, 'plain', NULL::bytea, 1.5::numeric, NULL::int[]),
    (2, NULL, '\\x00ff'::bytea, NULL, ARRAY[1, NULL, 3]),
    (3, '', ''::bytea, 'NaN', '{}'),
    (4, E'tab\\there\\nnew line \\\\ back', '\\x0a0a0a'::bytea, 0, ARRAY[10]),
    (5, '😀 ünïcödé', decode(repeat('ab', 300), 'hex'), -1e30, ARRAY[[1, 2], [3, 4]]),
    (NULL, NULL, NULL, NULL, NULL)
  ) v(id, label, data, amount, list) ORDER BY id NULLS LAST`;
const ROW_COUNT = 6;

async function capture(format: 'binary' | 'text', query = ROWS_SQL): Promise<Buffer> {
  const client = await connect(servers().source);
  try {
    const chunks: Buffer[] = [];
    await pipeline(
      client.query(copyTo(`COPY (${query}) TO STDOUT WITH (FORMAT ${format})`)),
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          chunks.push(chunk);
          callback();
        },
      }),
    );
    return Buffer.concat(chunks);
  } finally {
    await client.end();
  }
}

/** Feeds the chunks through a counter; returns what came out and the final counts. */
async function count(
  format: 'binary' | 'text',
  chunks: readonly Buffer[],
): Promise<{ output: Buffer; counts: CopyCounts; calls: number }> {
  let calls = 0;
  const counter = new CopyRowCounter(format, () => (calls += 1));
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
  return { output: Buffer.concat(out), counts: { ...counter.counts }, calls };
}

function splitAt(buffer: Buffer, ...offsets: number[]): Buffer[] {
  const cuts = [0, ...offsets, buffer.length];
  return cuts.slice(1).map((end, i) => buffer.subarray(cuts[i], end));
}

let binary: Buffer;
let text: Buffer;

beforeAll(async () => {
  [binary, text] = await Promise.all([capture('binary'), capture('text')]);
});

describe('CopyRowCounter, binary', () => {
  it('counts the rows of a real binary COPY stream and passes the bytes through unchanged', async () => {
    expect(binary.subarray(0, 11).toString('latin1')).toBe('PGCOPY\n\xff\r\n\0');
    const { output, counts, calls } = await count('binary', [binary]);
    expect(counts).toEqual({ rows: ROW_COUNT, bytes: binary.length });
    expect(output.equals(binary)).toBe(true);
    expect(calls).toBe(1);
  });

  it('counts correctly whatever byte offset a chunk boundary falls on', async () => {
    for (let offset = 0; offset <= binary.length; offset += 1) {
      const { output, counts } = await count('binary', splitAt(binary, offset));
      expect({ offset, ...counts }).toEqual({
        offset,
        rows: ROW_COUNT,
        bytes: binary.length,
      });
      expect(output.equals(binary)).toBe(true);
    }
  });

  it('counts correctly with two boundaries close together (split headers and lengths)', async () => {
    for (let offset = 0; offset < binary.length - 3; offset += 1) {
      for (const gap of [1, 2, 3]) {
        const { counts } = await count('binary', splitAt(binary, offset, offset + gap));
        expect({ offset, gap, rows: counts.rows }).toEqual({ offset, gap, rows: ROW_COUNT });
      }
    }
  });

  it('counts correctly when fed one byte at a time, and reports progress per chunk', async () => {
    const bytes = [...binary].map((b) => Buffer.from([b]));
    const { counts, calls } = await count('binary', bytes);
    expect(counts).toEqual({ rows: ROW_COUNT, bytes: binary.length });
    expect(calls).toBe(binary.length);
  });

  it('counts rows without columns and an empty result', async () => {
    const zeroColumns = await capture('binary', 'SELECT FROM generate_series(1, 3)');
    expect((await count('binary', [zeroColumns])).counts.rows).toBe(3);
    const empty = await capture('binary', 'SELECT 1 WHERE false');
    expect((await count('binary', [empty])).counts).toEqual({ rows: 0, bytes: empty.length });
    for (let offset = 0; offset <= empty.length; offset += 1) {
      expect((await count('binary', splitAt(empty, offset))).counts.rows).toBe(0);
    }
  });

  it('counts a stream of many rows split into uneven chunks', async () => {
    const many = await capture(
      'binary',
      `SELECT g, CASE WHEN g % 3 = 0 THEN NULL ELSE repeat('x', g % 50) END FROM generate_series(1, 5000) g`,
    );
    const chunks: Buffer[] = [];
    for (
      let start = 0, size = 1;
      start < many.length;
      start += size, size = (size * 7) % 997 || 1
    ) {
      chunks.push(many.subarray(start, start + size));
    }
    expect((await count('binary', chunks)).counts).toEqual({ rows: 5000, bytes: many.length });
  });
});

describe('CopyRowCounter, text', () => {
  it('counts one row per line: newlines inside values are escaped', async () => {
    expect(text.toString('utf8')).toContain('tab\\there\\nnew line \\\\ back');
    expect(text.toString('utf8')).toContain('\\N');
    const { output, counts } = await count('text', [text]);
    expect(counts).toEqual({ rows: ROW_COUNT, bytes: text.length });
    expect(output.equals(text)).toBe(true);
  });

  it('counts correctly whatever byte offset a chunk boundary falls on', async () => {
    for (let offset = 0; offset <= text.length; offset += 1) {
      const { counts } = await count('text', splitAt(text, offset));
      expect({ offset, ...counts }).toEqual({ offset, rows: ROW_COUNT, bytes: text.length });
    }
    const bytes = [...text].map((b) => Buffer.from([b]));
    expect((await count('text', bytes)).counts.rows).toBe(ROW_COUNT);
  });
});
