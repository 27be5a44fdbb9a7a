import { Transform, type TransformCallback } from 'node:stream';
import { CopyError } from '../../errors.js';

/** Rows and bytes one target's projected COPY stream has carried so far. */
export interface ProjectedCounts {
  rows: number;
  bytes: number;
}

/**
 * Passes on, of each row of a COPY stream, only the fields at `fields` (indexes into the row, in
 * the order given): the values' bytes are copied as they are, never decoded or re-encoded. Rows
 * cut across chunks wait for their rest; the memory held is at most one row and one chunk.
 */
export abstract class RowProjection extends Transform {
  readonly counts: ProjectedCounts = { rows: 0, bytes: 0 };
  /** The start of a row cut across chunks, and the chunks since, not yet joined. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Per field of the row being read: where it starts and ends (reused from row to row). */
  protected readonly starts: number[] = [];
  protected readonly ends: number[] = [];

  /**
   * @param fields the fields each output row takes, as indexes into the read's columns
   * @param width how many columns the read has (every row carries that many fields)
   */
  constructor(
    protected readonly fields: readonly number[],
    protected readonly width: number,
    private readonly onCounts?: (counts: ProjectedCounts) => void,
  ) {
    super();
  }

  /**
   * Reads whole rows from `data` at `offset`, appending the output's byte ranges (and the row
   * headers it writes) to `out`; returns where the first incomplete row begins.
   */
  protected abstract project(data: Buffer, offset: number, out: Output): number;

  /**
   * Whether `chunk` may complete the pending row (`pendingBytes` long so far): when it cannot, the
   * chunk waits with it, so that a large value arriving in many chunks is joined once, not again
   * with every chunk.
   */
  protected abstract mayComplete(chunk: Buffer, pendingBytes: number): boolean;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.pending.length > 0 && !this.mayComplete(chunk, this.pendingBytes)) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      callback();
      return;
    }
    const data = this.pending.length > 0 ? Buffer.concat([...this.pending, chunk]) : chunk;
    let out: Output;
    let offset: number;
    try {
      out = new Output(data);
      offset = this.project(data, 0, out);
    } catch (error) {
      callback(error as Error);
      return;
    }
    // subarray keeps the chunk's memory, not a copy: at most one chunk's worth.
    this.pending = offset < data.length ? [data.subarray(offset)] : [];
    this.pendingBytes = data.length - offset;
    const bytes = out.assemble();
    this.counts.bytes += bytes.length;
    this.onCounts?.(this.counts);
    callback(null, bytes.length > 0 ? bytes : undefined);
  }

  override _flush(callback: TransformCallback): void {
    // What is left over is a row cut short: the read ended without it.
    callback(this.pending.length > 0 ? new CopyError('', 'COPY data ended inside a row') : null);
  }

  /** Every row of the read has all its columns; anything else is not COPY data of this read. */
  protected checkWidth(found: number): void {
    if (found !== this.width) {
      throw new CopyError('', `COPY row has ${found} fields where the read has ${this.width}`);
    }
  }
}

/** Pieces up to this long are copied byte by byte: cheaper than a call into Buffer.copy. */
const SHORT_PIECE = 64;

/**
 * The output of one chunk, written as the rows are walked into one buffer (one allocation per
 * chunk, not one per row or field). A projection takes at most what its chunk holds (each row's
 * fields are a subset of its fields, its count or separators no longer), so the chunk's length
 * is the buffer's; it grows should a field be taken twice. Ranges that meet become one copy (the
 * projections give a row's count or separators as ranges of the input where they fit, so that the
 * fields a target takes of consecutive rows are one copy), and short pieces are copied in place
 * rather than through a call per piece.
 */
export class Output {
  private bytes: Buffer;
  private at = 0;
  /** A range of `data` not copied yet, in case the next one continues it. */
  private from = 0;
  private to = 0;
  /** Pairs: an output position and the int16 written there once its piece is in. */
  private readonly patches: number[] = [];

  constructor(private readonly data: Buffer) {
    this.bytes = Buffer.allocUnsafe(data.length);
  }

  range(start: number, end: number): void {
    if (end <= start) return;
    if (start === this.to && this.to > this.from) {
      this.to = end;
      return;
    }
    this.flush();
    this.from = start;
    this.to = end;
  }

  byte(value: number): void {
    this.flush();
    if (this.at === this.bytes.length) this.grow(1);
    this.bytes[this.at] = value;
    this.at += 1;
  }

  /** The output position the next piece begins at. */
  get length(): number {
    return this.at + this.to - this.from;
  }

  /** Overwrites two bytes of a piece already given (at `position`) with `value`, big-endian. */
  patchInt16(position: number, value: number): void {
    this.patches.push(position, value);
  }

  assemble(): Buffer {
    this.flush();
    for (let i = 0; i < this.patches.length; i += 2) {
      this.bytes.writeInt16BE(this.patches[i + 1] as number, this.patches[i]);
    }
    const bytes = this.bytes.subarray(0, this.at);
    // Far smaller than its chunk (a few narrow columns): a buffer of its own size, so that what
    // waits downstream holds no more memory than it counts.
    return this.at * 2 < this.bytes.length ? Buffer.from(bytes) : bytes;
  }

  private flush(): void {
    if (this.to > this.from) this.put(this.data, this.from, this.to);
    this.from = 0;
    this.to = 0;
  }

  private put(source: Buffer, start: number, end: number): void {
    const length = end - start;
    if (this.at + length > this.bytes.length) this.grow(length);
    if (length <= SHORT_PIECE) {
      const bytes = this.bytes;
      let at = this.at;
      for (let i = start; i < end; i += 1) bytes[at++] = source[i] as number;
    } else {
      source.copy(this.bytes, this.at, start, end);
    }
    this.at += length;
  }

  private grow(needed: number): void {
    const bigger = Buffer.allocUnsafe(Math.max(this.bytes.length * 2, this.at + needed));
    this.bytes.copy(bigger, 0, 0, this.at);
    this.bytes = bigger;
  }
}
