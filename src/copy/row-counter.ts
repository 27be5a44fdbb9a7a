import { Transform, type TransformCallback } from 'node:stream';

export interface CopyCounts {
  rows: number;
  bytes: number;
}

const BINARY_HEADER_BYTES = 19; // 11-byte signature, 4-byte flags, 4-byte extension length (0)

/**
 * Passes COPY data through unchanged while counting bytes and rows, so progress can show rows for
 * both formats. Text: one row per newline (newlines inside values are escaped). Binary: walks the
 * tuple headers and field lengths without looking at the values.
 */
export class CopyRowCounter extends Transform {
  readonly counts: CopyCounts = { rows: 0, bytes: 0 };
  /** Binary parser state: bytes still to skip, and the pending partial header bytes. */
  private skip = BINARY_HEADER_BYTES;
  private fieldsLeft = 0;
  private pending = Buffer.alloc(0);

  constructor(
    private readonly format: 'binary' | 'text',
    private readonly onChunk?: (counts: CopyCounts) => void,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.counts.bytes += chunk.length;
    if (this.format === 'text') {
      let index = chunk.indexOf(10);
      while (index !== -1) {
        this.counts.rows += 1;
        index = chunk.indexOf(10, index + 1);
      }
    } else {
      this.countBinary(chunk);
    }
    this.onChunk?.(this.counts);
    callback(null, chunk);
  }

  private countBinary(chunk: Buffer): void {
    let data = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = Buffer.alloc(0);
    let offset = 0;
    for (;;) {
      if (this.skip > 0) {
        const step = Math.min(this.skip, data.length - offset);
        offset += step;
        this.skip -= step;
        if (this.skip > 0) return;
      }
      if (this.fieldsLeft > 0) {
        if (data.length - offset < 4) break;
        const length = data.readInt32BE(offset);
        offset += 4;
        this.fieldsLeft -= 1;
        this.skip = Math.max(length, 0); // -1 is NULL: no data
        continue;
      }
      if (data.length - offset < 2) break;
      const fields = data.readInt16BE(offset);
      offset += 2;
      if (fields === -1) {
        // The trailer: ignore anything after it.
        this.skip = Number.MAX_SAFE_INTEGER;
        continue;
      }
      this.counts.rows += 1;
      this.fieldsLeft = fields;
    }
    data = data.subarray(offset);
    this.pending = Buffer.from(data);
  }
}
