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
  const sequences: PlannedSequence[] = [];
  const warnings: string[] = [];
  for (const { column, schema, name, numeric } of target.sequences) {
    if (!columns.has(column)) continue;
    if (numeric) sequences.push({ column, schema, name });
    else
      warnings.push(
        `sequence ${schema}.${name} of column "${column}" is not advanced: the column is not an integer, so its values do not say how far`,
      );
  }
  return { sequences, warnings };
}
