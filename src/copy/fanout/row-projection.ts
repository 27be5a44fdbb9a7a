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

/**
 * The output of one chunk: byte ranges of the input and small literal pieces, copied into one
 * buffer at the end (one allocation per chunk, not one per row or field).
 */
export class Output {
  /** Pairs: start and end (of `data`), or -1 and an index into `literals`. */
  private readonly ranges: number[] = [];
  private readonly literals: Buffer[] = [];
  private length = 0;

  constructor(private readonly data: Buffer) {}

  range(start: number, end: number): void {
    if (end <= start) return;
    const last = this.ranges.length - 1;
    // Adjacent ranges (consecutive fields) become one copy.
    if (last > 0 && this.ranges[last] === start && (this.ranges[last - 1] as number) >= 0) {
      this.ranges[last] = end;
    } else {
      this.ranges.push(start, end);
    }
    this.length += end - start;
  }

  literal(bytes: Buffer): void {
    this.ranges.push(-1, this.literals.length);
    this.literals.push(bytes);
    this.length += bytes.length;
  }

  assemble(): Buffer {
    const bytes = Buffer.allocUnsafe(this.length);
    let at = 0;
    for (let i = 0; i < this.ranges.length; i += 2) {
      // The list holds pairs: i + 1 is there, and a literal's index is one of `literals`.
      const start = this.ranges[i] as number;
      const end = this.ranges[i + 1] as number;
      if (start < 0) {
        const literal = this.literals[end] as Buffer;
        at += literal.copy(bytes, at);
      } else {
        at += this.data.copy(bytes, at, start, end);
      }
    }
    return bytes;
  }
}
