import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { projectionFor } from '../../src/copy/fanout/projection-for.js';
import { captureCopy, collector } from '../support/copy-capture.js';
import { servers } from '../support/db.js';

/** NULLs, empty strings, multi-byte text, escapes (tab, newline, backslash), wide values. */
const VALUES = `(VALUES
    (1, 'plain', NULL::bytea, 1.5::numeric, NULL::int[]),
    (2, NULL, '\\x00ff'::bytea, NULL, ARRAY[1, NULL, 3]),
    (3, '', ''::bytea, 'NaN', '{}'),
    (4, E'tab\\there\\nnew line \\\\ back\\r', '\\x0a090a'::bytea, 0, ARRAY[10]),
    (5, '😀 ünïcödé', decode(repeat('ab', 3000), 'hex'), -1e30, ARRAY[[1, 2], [3, 4]]),
    (NULL, NULL, NULL, NULL, NULL)
  ) v(id, label, data, amount, list)`;
const READ = ['id', 'label', 'data', 'amount', 'list'];

function capture(format: 'binary' | 'text', columns: readonly string[]): Promise<Buffer> {
  return captureCopy(
    servers().source,
    `SELECT ${columns.join(', ')} FROM ${VALUES} ORDER BY id`,
    format,
  );
}

/** `data` cut into chunks of `size` bytes (the worst case: rows, headers, lengths cut anywhere). */
async function project(
  data: Buffer,
  size: number,
  format: 'binary' | 'text',
  columns: readonly string[],
  read: readonly string[] = READ,
): Promise<{ bytes: Buffer; rows: number; counted: number }> {
  const chunks: Buffer[] = [];
  for (let at = 0; at < data.length; at += size) chunks.push(data.subarray(at, at + size));
  const sink = collector();
  const projection = projectionFor(format, read, columns);
  await pipeline(Readable.from(chunks), projection, sink);
  const bytes = Buffer.concat(sink.chunks);
  return { bytes, rows: projection.counts.rows, counted: projection.counts.bytes };
}

const SUBSETS: readonly (readonly string[])[] = [
  ['id', 'data'],
  ['list', 'label'],
  ['amount'],
  ['data', 'label', 'id', 'list'],
  // A field taken twice: the output is longer than its input (its buffer grows).
  ['data', 'label', 'data', 'id'],
  [],
];

describe.each(['binary', 'text'] as const)('COPY %s row projection', (format) => {
  let whole: Buffer;
  beforeAll(async () => {
    whole = await capture(format, READ);
  });

  it.each(SUBSETS.map((s) => [s.join(',') || '(none)', s] as const))(
    'fields %s: byte for byte what PostgreSQL sends for those columns, however the chunks fall',
    async (_name, columns) => {
      const wanted = await capture(format, columns);
      for (const size of [1, 3, 7, 64, whole.length]) {
        const { bytes, rows, counted } = await project(whole, size, format, columns);
        expect(bytes.equals(wanted)).toBe(true);
        expect(rows).toBe(6);
        expect(counted).toBe(wanted.length);
      }
    },
  );

  it('every column in the read order: the rows pass whole, uncounted', async () => {
    const { bytes, rows } = await project(whole, 5, format, READ);
    expect(bytes.equals(whole)).toBe(true);
    expect(rows).toBe(0);
  });

  it('data that ends inside a row is an error', async () => {
    await expect(project(whole.subarray(0, whole.length - 5), 64, format, ['id'])).rejects.toThrow(
      /COPY data ended inside a row/,
    );
  });

  it('a row of another width than the read is an error', async () => {
    await expect(project(whole, 64, format, ['id'], [...READ, 'extra'])).rejects.toThrow(
      /COPY row has 5 fields where the read has 6/,
    );
  });

  it('a column the read lacks is refused, never mapped onto another field', () => {
    expect(() => projectionFor(format, READ, ['id', 'missing'])).toThrow(
      /the shared read has no column for missing/,
    );
  });
});

describe('COPY binary row projection: the header', () => {
  let whole: Buffer;
  beforeAll(async () => {
    whole = await capture('binary', READ);
  });

  it('a header extension (none today; the format allows one) passes with the header', async () => {
    const withExtension = (data: Buffer): Buffer => {
      const header = Buffer.from(data.subarray(0, 19));
      header.writeInt32BE(4, 15);
      return Buffer.concat([header, Buffer.from('ext!'), data.subarray(19)]);
    };
    const wanted = withExtension(await capture('binary', ['label']));
    for (const size of [1, 21, 64]) {
      const { bytes } = await project(withExtension(whole), size, 'binary', ['label']);
      expect(bytes.equals(wanted)).toBe(true);
    }
  });
});
