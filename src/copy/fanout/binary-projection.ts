import { Output, RowProjection } from './row-projection.js';

/** 11-byte signature, 32-bit flags, 32-bit length of the header extension (which follows). */
const HEADER_BYTES = 19;
const TRAILER = -1;

/**
 * Projects COPY binary rows: each tuple is a 16-bit field count, then per field a 32-bit length
 * (-1: NULL) and that many bytes. The header passes unchanged, each tuple's count is rewritten,
 * and the selected fields' length words and bytes are copied as they are.
 */
export class BinaryRowProjection extends RowProjection {
  private headerDone = false;
  private trailerSeen = false;
  /** The fewest bytes the pending tuple still needs in all, as far as its lengths tell. */
  private needed = 0;

  protected project(data: Buffer, offset: number, out: Output): number {
    let at = offset;
    this.needed = 0; // unknown until a tuple is found cut short
    if (!this.headerDone) {
      if (data.length - at < HEADER_BYTES) return at;
      const end = at + HEADER_BYTES + data.readInt32BE(at + HEADER_BYTES - 4);
      if (data.length < end) return at;
      out.range(at, end);
      at = end;
      this.headerDone = true;
    }
    while (!this.trailerSeen && data.length - at >= 2) {
      const fields = data.readInt16BE(at);
      if (fields === TRAILER) {
        out.range(at, at + 2);
        at += 2;
        this.trailerSeen = true;
        break;
      }
      this.checkWidth(fields);
      const end = this.readTuple(data, at + 2, fields);
      if (end < 0) {
        this.needed -= at;
        break;
      }
      // The input's count, rewritten: with the fields that follow it, one range of the input.
      if (fields !== this.fields.length) out.patchInt16(out.length, this.fields.length);
      out.range(at, at + 2);
      // Every selected field is below the tuple's width (checked): its bounds were just noted.
      for (const f of this.fields) out.range(this.starts[f] as number, this.ends[f] as number);
      this.counts.rows += 1;
      at = end;
    }
    // Nothing follows the trailer in COPY data; were anything there, it is not passed on.
    return this.trailerSeen ? data.length : at;
  }

  protected mayComplete(chunk: Buffer, pendingBytes: number): boolean {
    return pendingBytes + chunk.length >= this.needed;
  }

  /** Notes where each field of the tuple begins and ends; -1 when the tuple is not all here yet. */
  private readTuple(data: Buffer, from: number, fields: number): number {
    let at = from;
    for (let i = 0; i < fields; i += 1) {
      this.needed = at + 4;
      if (data.length - at < 4) return -1;
      const length = data.readInt32BE(at);
      const end = at + 4 + Math.max(length, 0);
      this.needed = end;
      if (end > data.length) return -1;
      this.starts[i] = at;
      this.ends[i] = end;
      at = end;
    }
    return at;
  }
}
