import type { TableInfo } from '../db/catalog.js';
import type { PlannedSequence } from './types.js';

/**
 * The sequences behind the written columns, which the run moves past the copied values: without
 * that, the application's next insert draws a value the copy already used. Only an integer (or
 * numeric) column's maximum says how far to move one; any other column gets a warning instead.
 */
export function planSequences(
  target: TableInfo,
  written: readonly string[],
): { sequences: PlannedSequence[]; warnings: string[] } {
  const columns = new Set(written);
  const behindWritten = target.sequences.filter((q) => columns.has(q.column));
  const sequences = behindWritten
    .filter((q) => q.numeric)
    .map(({ column, schema, name, descending }) => ({
      column,
      schema,
      name,
      ...(descending ? { descending: true as const } : {}),
    }));
  const moved = new Set(sequences.map((q) => `${q.schema}.${q.name}`));
  const warnings = behindWritten
    .filter((q) => !q.numeric && !moved.has(`${q.schema}.${q.name}`))
    .map(
      (q) =>
        `sequence ${q.schema}.${q.name} of column "${q.column}" is not advanced: the column is not an integer, so its values do not say how far`,
    );
  return { sequences, warnings };
}
