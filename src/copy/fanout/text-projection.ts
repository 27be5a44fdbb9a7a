import { Output, RowProjection } from './row-projection.js';

const TAB = 0x09;
const NEWLINE = 0x0a;
const TAB_BYTE = Buffer.from([TAB]);
const NEWLINE_BYTE = Buffer.from([NEWLINE]);

/**
 * Projects COPY text rows: a row ends at a newline and its fields are separated by tabs. COPY TO
 * writes a tab, newline or backslash inside a value as an escape (`\t`, `\n`, `\\`), so every raw
 * tab or newline byte is a separator (and in every server encoding, no multibyte character holds
 * one): the selected fields' bytes are copied between them untouched.
 */
export class TextRowProjection extends RowProjection {
  protected project(data: Buffer, offset: number, out: Output): number {
    let at = offset;
    for (;;) {
      const end = data.indexOf(NEWLINE, at);
      if (end < 0) return at;
      this.splitRow(data, at, end);
      this.fields.forEach((f, i) => {
        out.range(this.starts[f] as number, this.ends[f] as number); // noted for every field
        if (i < this.fields.length - 1) out.literal(TAB_BYTE);
      });
      out.literal(NEWLINE_BYTE);
      this.counts.rows += 1;
      at = end + 1;
    }
  }

  protected mayComplete(chunk: Buffer): boolean {
    return chunk.includes(NEWLINE);
  }

  /** Notes where each field of the row [from, end) begins and ends. */
  private splitRow(data: Buffer, from: number, end: number): void {
    // A read has columns (one without any is passed whole): a row has at least one field.
    let found = 0;
    let start = from;
    for (;;) {
      const tab = data.indexOf(TAB, start);
      const stop = tab < 0 || tab > end ? end : tab;
      this.starts[found] = start;
      this.ends[found] = stop;
      found += 1;
      if (stop === end) break;
      start = stop + 1;
    }
    this.checkWidth(found);
  }
}
