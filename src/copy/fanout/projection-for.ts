import { Transform, type TransformCallback } from 'node:stream';
import { CopyError } from '../../errors.js';
import { BinaryRowProjection } from './binary-projection.js';
import type { ProjectedCounts } from './row-projection.js';
import { TextRowProjection } from './text-projection.js';

/** A target that takes every column of the read, in its order: the stream passes as it is. */
class WholeRows extends Transform {
  readonly counts: ProjectedCounts = { rows: 0, bytes: 0 };

  constructor(private readonly onCounts?: (counts: ProjectedCounts) => void) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.counts.bytes += chunk.length;
    this.onCounts?.(this.counts);
    callback(null, chunk);
  }
}

/** The stream that gives one target its columns of a shared read. */
export interface Projection extends Transform {
  /** Bytes passed on; rows too when the rows are walked (whole rows are not). */
  readonly counts: ProjectedCounts;
}

/**
 * The projection of a read of `readColumns` onto a target's `columns` (all among them), each
 * named by its read key (what it reads from the source: ReadColumn.sql): whole rows when they
 * are the same list, else the rows' fields walked in the COPY format.
 */
export function projectionFor(
  format: 'binary' | 'text',
  readColumns: readonly string[],
  columns: readonly string[],
  onCounts?: (counts: ProjectedCounts) => void,
): Projection {
  const whole =
    columns.length === readColumns.length && columns.every((c, i) => readColumns[i] === c);
  if (whole) return new WholeRows(onCounts);
  const fields = columns.map((c) => {
    const field = readColumns.indexOf(c);
    // A member's column missing from its read would shift every later field: never let it pass.
    if (field < 0) throw new CopyError('', `the shared read has no column for ${c}`);
    return field;
  });
  const Walk = format === 'binary' ? BinaryRowProjection : TextRowProjection;
  return new Walk(fields, readColumns.length, onCounts);
}
