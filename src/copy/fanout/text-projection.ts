import { Output, RowProjection } from './row-projection.js';

const TAB = 0x09;
const NEWLINE = 0x0a;
/** Rows up to this long are split by a loop over their bytes, longer ones by indexOf per field. */
const SHORT_ROW = 512;

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
      const last = this.fields.length - 1;
      for (let i = 0; i <= last; i += 1) {
        const f = this.fields[i] as number;
        // The separator after the field in the input (a tab, a newline after the last) goes with
        // it where the output wants the same one: consecutive fields and rows are one range.
        const separator = i < last ? TAB : NEWLINE;
        const end = this.ends[f] as number; // noted for every field
        if (data[end] === separator) out.range(this.starts[f] as number, end + 1);
        else {
          out.range(this.starts[f] as number, end);
          out.byte(separator);
        }
      }
      if (last < 0) out.byte(NEWLINE);
      this.counts.rows += 1;
      at = end + 1;
    }
  }

  protected mayComplete(chunk: Buffer): boolean {
    return chunk.includes(NEWLINE);
  }

  /** Notes where each field of the row [from, end) begins and ends. */
  private splitRow(data: Buffer, from: number, end: number): void {
    if (end - from <= SHORT_ROW) this.splitShortRow(data, from, end);
    else this.splitLongRow(data, from, end);
  }

  /** A byte loop: for a narrow row, cheaper than a call into indexOf per field. */
  private splitShortRow(data: Buffer, from: number, end: number): void {
    let found = 0;
    let start = from;
    for (let i = from; i < end; i += 1) {
      if (data[i] === TAB) {
        this.starts[found] = start;
        this.ends[found] = i;
        found += 1;
        start = i + 1;
      }
    }
    this.starts[found] = start;
    this.ends[found] = end;
    this.checkWidth(found + 1);
  }

  private splitLongRow(data: Buffer, from: number, end: number): void {
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
