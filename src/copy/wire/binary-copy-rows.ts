import { CopyError } from '../../errors.js';

/** `PGCOPY\n\377\r\n\0`: the signature that opens binary COPY data. */
const SIGNATURE = Buffer.from([0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00]);

/**
 * The rows of binary COPY data (`COPY … TO STDOUT (FORMAT binary)`), fed in pieces cut anywhere.
 * Each row is given as its fields' bytes (null for NULL). A row's bytes are copied out of the
 * pieces only when a row spans pieces; otherwise a field is a view of the piece it came in.
 */
export class BinaryCopyRows {
  private readonly pieces: Buffer[] = [];
  /** Bytes held in `pieces`, after `offset` into the first. */
  private held = 0;
  private offset = 0;
  private headerRead = false;
  private finished = false;

  /** The data ended with its trailer. */
  get ended(): boolean {
    return this.finished;
  }

  /** Adds one piece; returns the rows it completed. */
  push(piece: Buffer): (Buffer | null)[][] {
    if (piece.length > 0) {
      this.pieces.push(piece);
      this.held += piece.length;
    }
    const rows: (Buffer | null)[][] = [];
    for (;;) {
      if (!this.headerRead) {
        if (this.held < SIGNATURE.length + 8) return rows;
        const fixed = this.peek(SIGNATURE.length + 8);
        if (!fixed.subarray(0, SIGNATURE.length).equals(SIGNATURE)) {
          throw new CopyError('', 'not binary COPY data (no PGCOPY signature)');
        }
        const extension = fixed.readUInt32BE(SIGNATURE.length + 4);
        if (this.held < SIGNATURE.length + 8 + extension) return rows;
        this.take(SIGNATURE.length + 8 + extension);
        this.headerRead = true;
      }
      if (this.finished) return rows;
      const row = this.row();
      if (row === undefined) return rows;
      if (row === 'trailer') {
        this.finished = true;
        return rows;
      }
      rows.push(row);
    }
  }

  /** One whole row from the held bytes, without consuming anything unless all of it is there. */
  private row(): (Buffer | null)[] | 'trailer' | undefined {
    if (this.held < 2) return undefined;
    const count = this.peek(2).readInt16BE(0);
    if (count === -1) {
      this.take(2);
      return 'trailer';
    }
    // Walk the field lengths first: the row is taken only once it is complete.
    let size = 2;
    const lengths: number[] = [];
    for (let i = 0; i < count; i++) {
      if (this.held < size + 4) return undefined;
      const length = this.peek(size + 4).readInt32BE(size);
      lengths.push(length);
      size += 4 + Math.max(length, 0);
      if (this.held < size) return undefined;
    }
    const bytes = this.take(size);
    let pos = 2;
    return lengths.map((length) => {
      pos += 4;
      if (length < 0) return null;
      const field = bytes.subarray(pos, pos + length);
      pos += length;
      return field;
    });
  }

  /** The first `n` held bytes (a view when they lie in one piece), not consumed. */
  private peek(n: number): Buffer {
    const first = this.pieces[0] as Buffer;
    if (first.length - this.offset >= n) return first.subarray(this.offset, this.offset + n);
    // Join the pieces it spans, once: later peeks and the take see one piece.
    const head = first.subarray(this.offset);
    const joined: Buffer[] = [head];
    let length = head.length;
    let count = 1;
    while (length < n) {
      const next = this.pieces[count] as Buffer;
      joined.push(next);
      length += next.length;
      count += 1;
    }
    this.pieces.splice(0, count, Buffer.concat(joined, length));
    this.offset = 0;
    return (this.pieces[0] as Buffer).subarray(0, n);
  }

  private take(n: number): Buffer {
    const bytes = this.peek(n);
    this.offset += n;
    this.held -= n;
    if (this.offset === (this.pieces[0] as Buffer).length) {
      this.pieces.shift();
      this.offset = 0;
    }
    return bytes;
  }
}
