import { Transform, type TransformCallback } from 'node:stream';

/**
 * Passes COPY data through unchanged (the same buffers, never copied or parsed) and counts its
 * bytes for progress. Rows are not counted here: the target's `COPY n` gives the final count, and
 * progress runs on bytes against the plan's estimate, so no JavaScript work is done per row.
 */
export class CopyByteCounter extends Transform {
  bytes = 0;

  constructor(private readonly onChunk?: (bytes: number) => void) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    this.onChunk?.(this.bytes);
    callback(null, chunk);
  }
}
