import type pg from 'pg';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CopyInWriter } from '../../src/copy/wire/copy-in-writer.js';
import { CopyOutParser } from '../../src/copy/wire/copy-out-parser.js';
import { CopyOutReader } from '../../src/copy/wire/copy-out-reader.js';
import { captureCopy, collector } from '../support/copy-capture.js';
import { connect, servers, sql, tableDigest, uniqueName } from '../support/db.js';

/**
 * The stream path's own COPY streams (src/copy/wire), on real servers: the framing parser over
 * every split of a real COPY OUT response, each source read passed to the target in its own buffer
 * as one CopyData message, and every guarantee pg-copy-streams gave: backpressure, CopyFail on any failure (nothing
 * half-copied), `COPY n`, and a connection pg can use again afterwards.
 */
const schema = uniqueName('Copy Wire');
const q = `"${schema}"`;
const s = servers();
const ROWS = 3000;
/** Rows of every kind of value, and a NOTICE (an 'N' message inside the COPY) every 500 rows. */
const SOURCE_ROWS = `SELECT g AS id, CASE WHEN g % 7 = 0 THEN NULL ELSE repeat('é', g % 40) || E'\\t\\n' END AS label,
       ${q}.noisy(g) / 3.0 AS amount FROM generate_series(1, ${ROWS}) g`;

let source: pg.Client;
let target: pg.Client;

beforeAll(async () => {
  await sql(
    s.source,
    `CREATE SCHEMA ${q};
     CREATE FUNCTION ${q}.noisy(n int) RETURNS int LANGUAGE plpgsql AS $$
       BEGIN IF n % 500 = 0 THEN RAISE NOTICE 'row %', n; END IF; RETURN n; END $$;`,
  );
  await sql(
    s.target1,
    `CREATE SCHEMA ${q}; CREATE TABLE ${q}.t (id int PRIMARY KEY, label text, amount numeric);
     CREATE TABLE ${q}.slow (id int, label text, amount numeric);
     CREATE FUNCTION ${q}.slow_down() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN IF NEW.id % 2000 = 0 THEN PERFORM pg_sleep(0.01); END IF; RETURN NEW; END $$;
     CREATE TRIGGER slow BEFORE INSERT ON ${q}.slow FOR EACH ROW EXECUTE FUNCTION ${q}.slow_down();`,
  );
});

afterAll(async () => {
  await sql(s.source, `DROP SCHEMA ${q} CASCADE`);
  await sql(s.target1, `DROP SCHEMA ${q} CASCADE`);
});

beforeEach(async () => {
  [source, target] = await Promise.all([connect(s.source), connect(s.target1)]);
  await target.query(`TRUNCATE ${q}.t`);
});

afterEach(async () => {
  await Promise.all([source.end(), target.end()]);
});

/**
 * A source left in the middle of a COPY (its reader destroyed) is the caller's to close: pgcopy
 * closes it (src/db/end-client.ts). Here its socket is dropped and a new connection takes its place.
 */
async function abandonSource(): Promise<void> {
  source.on('error', () => undefined);
  source.connection.stream.destroy();
  source = await connect(s.source);
}

const copyOut = (format: 'text' | 'binary', query = SOURCE_ROWS): string =>
  `COPY (${query}) TO STDOUT WITH (FORMAT ${format})`;
const copyIn = (format: 'text' | 'binary'): string =>
  `COPY ${q}.t (id, label, amount) FROM STDIN WITH (FORMAT ${format})`;

/** Everything the source's server sends for a COPY TO, as read from the client's socket. */
async function wireResponse(format: 'text' | 'binary', before = ''): Promise<Buffer> {
  const seen: Buffer[] = [];
  const reader = source.query(new CopyOutReader(`${before}${copyOut(format)}`));
  // Ahead of the reader, which moves the payloads inside each read.
  const tap = (chunk: Buffer): number => seen.push(Buffer.from(chunk));
  source.connection.stream.prependListener('data', tap);
  await pipeline(reader, collector());
  await source.query('SELECT 1');
  source.connection.stream.off('data', tap);
  return Buffer.concat(seen);
}

/** The CopyData messages of a stream of them, checked to be nothing else, and their payloads. */
function splitFrames(frames: Buffer): { count: number; payloads: Buffer } {
  const payloads: Buffer[] = [];
  let at = 0;
  while (at < frames.length) {
    expect(String.fromCharCode(frames[at] as number)).toBe('d');
    const length = frames.readUInt32BE(at + 1);
    payloads.push(frames.subarray(at + 5, at + 1 + length));
    at += 1 + length;
  }
  expect(at).toBe(frames.length);
  return { count: payloads.length, payloads: Buffer.concat(payloads) };
}

/** The response cut every `size` bytes through one parser: the payloads and what follows them. */
function parseInPieces(
  response: Buffer,
  size: number,
): { data: Buffer; rest: Buffer | undefined; bytes: number } {
  const parser = new CopyOutParser();
  const data: Buffer[] = [];
  for (let at = 0; at < response.length; at += size) {
    // A read of its own, as a socket gives (the parser moves the payloads inside it).
    const read = parser.parse(Buffer.from(response.subarray(at, at + size)));
    data.push(read.data);
    if (read.rest) {
      expect(read.ended).toBe('done');
      const rest = Buffer.concat([read.rest, response.subarray(at + size)]);
      return { data: Buffer.concat(data), rest, bytes: parser.bytes };
    }
  }
  return { data: Buffer.concat(data), rest: undefined, bytes: parser.bytes };
}

describe('CopyOutParser: the framing of a real COPY OUT response, split anywhere', () => {
  for (const format of ['text', 'binary'] as const) {
    it(`${format}: the payloads are pg-copy-streams' COPY data, whatever the split; notices are skipped`, async () => {
      const response = await wireResponse(format);
      const expected = await captureCopy(s.source, SOURCE_ROWS, format);
      for (const size of [1, 2, 3, 4, 5, 6, 7, 11, 64, 1000, 65536, response.length]) {
        const parsed = parseInPieces(response, size);
        expect(parsed.data.equals(expected), `pieces of ${size}`).toBe(true);
        expect(parsed.bytes).toBe(expected.length);
        // What follows CopyDone is pg's: CommandComplete (`COPY 3000`), then ReadyForQuery.
        expect(parsed.rest?.subarray(0, 1).toString()).toBe('C');
        expect(parsed.rest?.toString('latin1')).toContain(`COPY ${ROWS}`);
      }
    });
  }

  it("skips the results of the statements before the COPY in its query string (BEGIN, SET, a SELECT's rows), whatever the split", async () => {
    const response = await wireResponse(
      'binary',
      "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL work_mem = '8MB'; SELECT 1 AS one, 'COPY' AS two; ",
    );
    await source.query('ROLLBACK');
    const expected = await captureCopy(s.source, SOURCE_ROWS, 'binary');
    for (const size of [1, 2, 3, 5, 7, 11, 64, 65536, response.length]) {
      const parsed = parseInPieces(response, size);
      expect(parsed.data.equals(expected), `pieces of ${size}`).toBe(true);
      expect(parsed.rest?.toString('latin1')).toContain(`COPY ${ROWS}`);
    }
  });

  it('stops at an ErrorResponse and leaves it, and the rest, to pg', () => {
    const parser = new CopyOutParser();
    const frame = Buffer.from([0x64, 0, 0, 0, 6, 0x41, 0x42]);
    const error = Buffer.from([0x45, 0, 0, 0, 4, 0x5a, 0, 0, 0, 5, 0x49]);
    const read = parser.parse(Buffer.concat([frame, error]));
    expect(read.data.toString()).toBe('AB');
    expect(read.ended).toBe(0x45);
    expect(read.rest?.equals(error)).toBe(true);
  });
});

describe('CopyOutReader into CopyInWriter: the stream path on real servers', () => {
  it('bug: pg-copy-streams made a buffer per row and a new one per read: each read goes on in its own buffer, one CopyData message to the target', async () => {
    const written: Buffer[] = [];
    const socket = target.connection.stream;
    const write = socket.write.bind(socket) as (chunk: Buffer) => boolean;
    socket.write = ((chunk: Buffer) => {
      written.push(Buffer.from(chunk));
      return write(chunk);
    }) as typeof socket.write;
    const progress: number[] = [];
    const reader = source.query(
      new CopyOutReader(copyOut('binary'), { onBytes: (n) => progress.push(n) }),
    );
    const reads: Buffer[] = [];
    source.connection.stream.on('data', (chunk: Buffer) => reads.push(chunk));
    const chunks: Buffer[] = [];
    reader.on('data', (chunk: Buffer) => chunks.push(chunk));
    const writer = target.query(new CopyInWriter(copyIn('binary')));
    try {
      await pipeline(reader, writer);
    } finally {
      socket.write = write as typeof socket.write;
    }
    // Each chunk is the start of a socket read's own buffer: nothing allocated or copied anew.
    expect(chunks.length).toBeGreaterThan(0);
    for (const chunk of chunks) {
      const read = reads.find(
        (r) => r.buffer === chunk.buffer && r.byteOffset === chunk.byteOffset,
      );
      expect(read).toBeDefined();
    }
    // Query, one CopyData message per chunk, CopyDone (and nothing else: no CopyFail).
    const sent = Buffer.concat(written);
    const first = 1 + sent.readUInt32BE(1);
    expect(sent.subarray(sent.length - 5).equals(Buffer.from('c\0\0\0\x04'))).toBe(true);
    const { count, payloads } = splitFrames(sent.subarray(first, sent.length - 5));
    expect(count).toBe(chunks.length);
    expect(payloads.equals(await captureCopy(s.source, SOURCE_ROWS, 'binary'))).toBe(true);
    expect([reader.rowCount, writer.rowCount]).toEqual([ROWS, ROWS]);
    expect(progress.at(-1)).toBe(reader.bytes);
    expect(reader.bytes).toBe(payloads.length);
    expect(await tableDigest(s.target1, `SELECT * FROM ${q}.t`)).toEqual(
      await tableDigest(s.source, SOURCE_ROWS),
    );
  });

  it('text: the same through a text COPY', async () => {
    const reader = source.query(new CopyOutReader(copyOut('text')));
    const writer = target.query(new CopyInWriter(copyIn('text')));
    await pipeline(reader, writer);
    expect(writer.rowCount).toBe(ROWS);
    expect(await tableDigest(s.target1, `SELECT * FROM ${q}.t`)).toEqual(
      await tableDigest(s.source, SOURCE_ROWS),
    );
  });

  it('keeps memory flat: a slow target pauses the source socket (backpressure)', async () => {
    const big = `SELECT g, repeat('x', 200), g FROM generate_series(1, 200000) g`;
    const reader = source.query(new CopyOutReader(copyOut('text', big)));
    let most = 0;
    let taken = 0;
    const slow = new Writable({
      highWaterMark: 64 * 1024,
      write(chunk: Buffer, _encoding, done) {
        taken += chunk.length;
        most = Math.max(most, reader.readableLength);
        setTimeout(done, 1);
      },
    });
    await pipeline(reader, slow);
    expect(taken).toBeGreaterThan(40_000_000);
    // Never more than the reader's buffer and one socket read, though the table is 40 MB.
    expect(most).toBeLessThan(1024 * 1024);
  });

  it('keeps memory flat: a slow target server holds the writer, which holds the reader', async () => {
    const big = `SELECT g, repeat('x', 200), g FROM generate_series(1, 200000) g`;
    const reader = source.query(new CopyOutReader(copyOut('text', big)));
    const writer = target.query(new CopyInWriter(`COPY ${q}.slow FROM STDIN WITH (FORMAT text)`));
    const socket = target.connection.stream;
    let most = 0;
    const watch = setInterval(() => {
      const held = socket.writableLength + writer.writableLength + reader.readableLength;
      most = Math.max(most, held);
    }, 2);
    try {
      await pipeline(reader, writer);
    } finally {
      clearInterval(watch);
    }
    expect(writer.rowCount).toBe(200_000);
    // 40 MB went through; this process never held more than its buffers' bounds.
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThan(2 * 1024 * 1024);
  });

  it('a source error mid-stream sends CopyFail: the target keeps nothing; both connections work on', async () => {
    const failing = `SELECT g, 'x', 1 / (${ROWS} - g) FROM generate_series(1, ${ROWS * 10}) g`;
    const reader = source.query(new CopyOutReader(copyOut('text', failing)));
    const writer = target.query(new CopyInWriter(copyIn('text')));
    await expect(pipeline(reader, writer)).rejects.toMatchObject({ code: '22012' });
    expect(reader.bytes).toBeGreaterThan(0);
    await expect(source.query('SELECT 1 AS one')).resolves.toMatchObject({ rows: [{ one: 1 }] });
    await expect(target.query(`SELECT count(*)::int AS n FROM ${q}.t`)).resolves.toMatchObject({
      rows: [{ n: 0 }],
    });
  });

  it('a target error mid-stream (unique violation) fails the copy; the target keeps nothing and works on', async () => {
    const twice = `SELECT g % 50000, 'x', 1 FROM generate_series(1, 100000) g`;
    const reader = source.query(new CopyOutReader(copyOut('text', twice)));
    const writer = target.query(new CopyInWriter(copyIn('text')));
    await expect(pipeline(reader, writer)).rejects.toMatchObject({ code: '23505' });
    await abandonSource();
    await expect(target.query(`SELECT count(*)::int AS n FROM ${q}.t`)).resolves.toMatchObject({
      rows: [{ n: 0 }],
    });
  });

  it('a unique violation in the last rows, reported after CopyDone, fails the copy', async () => {
    const reader = source.query(
      new CopyOutReader(copyOut('text', `SELECT 1, 'a', 1 UNION ALL SELECT 1, 'b', 2`)),
    );
    const writer = target.query(new CopyInWriter(copyIn('text')));
    await expect(pipeline(reader, writer)).rejects.toMatchObject({ code: '23505' });
    await expect(target.query('SELECT 1 AS one')).resolves.toMatchObject({ rows: [{ one: 1 }] });
  });

  it('an abort mid-stream sends CopyFail after whole CopyData messages (inside one the target would drop the connection, 08P01): the target keeps nothing and works on', async () => {
    const endless = `SELECT g, repeat('x', 100), g FROM generate_series(1, 5000000) g`;
    const reader = source.query(new CopyOutReader(copyOut('text', endless)));
    const writer = target.query(new CopyInWriter(copyIn('text')));
    const controller = new AbortController();
    const abortLater = setInterval(() => {
      if (reader.bytes > 1_000_000) controller.abort(new Error('stopped by the test'));
    }, 5);
    try {
      await expect(pipeline(reader, writer, { signal: controller.signal })).rejects.toThrow();
    } finally {
      clearInterval(abortLater);
    }
    await abandonSource();
    await expect(target.query(`SELECT count(*)::int AS n FROM ${q}.t`)).resolves.toMatchObject({
      rows: [{ n: 0 }],
    });
  });

  it('a writer destroyed before the server took the COPY still sends CopyFail once it does', async () => {
    const writer = target.query(new CopyInWriter(copyIn('text')));
    writer.write(Buffer.from('1\ta\t1\n'));
    writer.destroy(new Error('given up at once'));
    await expect(new Promise((_, reject) => writer.once('error', reject))).rejects.toThrow(
      /given up at once/,
    );
    await target.query('SELECT 1');
    const unexplained = target.query(new CopyInWriter(copyIn('text')));
    unexplained.destroy();
    await expect(new Promise((_, reject) => unexplained.once('error', reject))).rejects.toThrow(
      /the COPY was stopped/,
    );
    await expect(target.query(`SELECT count(*)::int AS n FROM ${q}.t`)).resolves.toMatchObject({
      rows: [{ n: 0 }],
    });
  });

  it('a reader or writer destroyed while queued behind another query is never sent; pg goes on', async () => {
    for (const [client, stream] of [
      [source, new CopyOutReader(copyOut('text'))],
      [target, new CopyInWriter(copyIn('text'))],
    ] as const) {
      const before = client.query('SELECT pg_sleep(0.05)');
      client.query(stream);
      stream.destroy();
      await before;
      await expect(client.query('SELECT 1 AS one')).resolves.toMatchObject({ rows: [{ one: 1 }] });
      expect(stream.destroyed).toBe(true);
    }
  });

  it('a writer ended at once copies no rows; one into a missing table fails with its SQLSTATE', async () => {
    const empty = target.query(new CopyInWriter(copyIn('text')));
    empty.end();
    await new Promise((resolve) => empty.once('finish', resolve));
    expect(empty.rowCount).toBe(0);
    const missing = target.query(new CopyInWriter(`COPY ${q}.nowhere FROM STDIN`));
    missing.write(Buffer.from('1\n'));
    await expect(new Promise((_, reject) => missing.once('error', reject))).rejects.toMatchObject({
      code: '42P01',
    });
    await expect(target.query('SELECT 1 AS one')).resolves.toMatchObject({ rows: [{ one: 1 }] });
  });

  it('statements before the COPY in its query string (BEGIN, SET, a SELECT, a TRUNCATE): their results are skipped, the COPY is read and written whole, each side stays in its transaction', async () => {
    await sql(s.target1, `INSERT INTO ${q}.t VALUES (-1, 'old', 0)`);
    const reader = source.query(
      new CopyOutReader(
        `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL extra_float_digits = 3; SELECT 1, 'x'; ${copyOut('binary')}`,
      ),
    );
    const writer = target.query(
      new CopyInWriter(
        `BEGIN; SET LOCAL synchronous_commit = off; SELECT 2 AS two; TRUNCATE ${q}.t; ${copyIn('binary')}`,
      ),
    );
    await pipeline(reader, writer);
    // The COPYs' own counts, not the statements' before them.
    expect([reader.rowCount, writer.rowCount]).toEqual([ROWS, ROWS]);
    const open = async (client: pg.Client): Promise<string> =>
      (
        (await client.query('SELECT now() = statement_timestamp() AS fresh')).rows[0] as {
          fresh: boolean;
        }
      ).fresh
        ? 'outside'
        : 'inside';
    // Inside a transaction, now() is its start, not the statement's.
    expect([await open(source), await open(target)]).toEqual(['inside', 'inside']);
    await Promise.all([source.query('ROLLBACK'), target.query('COMMIT')]);
    expect(await tableDigest(s.target1, `SELECT * FROM ${q}.t`)).toEqual(
      await tableDigest(s.source, SOURCE_ROWS),
    );
  });

  it('a statement before the COPY that fails fails the COPY with its SQLSTATE: no row read or written, both connections work on after ROLLBACK', async () => {
    await sql(s.target1, `INSERT INTO ${q}.t VALUES (-1, 'kept', 0)`);
    const reader = source.query(
      new CopyOutReader(
        `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT '00000000-00000000-1'; ${copyOut('text')}`,
      ),
    );
    await expect(pipeline(reader, collector())).rejects.toMatchObject({ code: '42704' });
    expect(reader.bytes).toBe(0);
    const writer = target.query(
      new CopyInWriter(`BEGIN; TRUNCATE ${q}.t; TRUNCATE ${q}.nowhere; ${copyIn('text')}`),
    );
    writer.write(Buffer.from('1\tx\t1\n'));
    await expect(new Promise((_, reject) => writer.once('error', reject))).rejects.toMatchObject({
      code: '42P01',
    });
    await Promise.all([source.query('ROLLBACK'), target.query('ROLLBACK')]);
    await expect(source.query('SELECT 1 AS one')).resolves.toMatchObject({ rows: [{ one: 1 }] });
    expect((await target.query(`SELECT id, label FROM ${q}.t`)).rows).toEqual([
      { id: -1, label: 'kept' },
    ]);
  });

  it('a query that is no COPY TO fails the reader and leaves the connection to pg', async () => {
    const reader = source.query(new CopyOutReader('SELECT 1'));
    await expect(pipeline(reader, collector())).rejects.toThrow(/not a COPY TO query/);
    await expect(source.query('SELECT 2 AS two')).resolves.toMatchObject({ rows: [{ two: 2 }] });
  });

  it('refuses a connection whose socket pg does not read alone, and pg goes on', async () => {
    const extra = (): undefined => undefined;
    source.connection.stream.on('data', extra);
    const reader = source.query(new CopyOutReader(copyOut('text')));
    await expect(pipeline(reader, collector())).rejects.toThrow(/2 socket readers/);
    source.connection.stream.off('data', extra);
    await expect(source.query('SELECT 3 AS three')).resolves.toMatchObject({
      rows: [{ three: 3 }],
    });
  });
});
