import type { TableSpec } from '../config/types.js';
import type { ColumnInfo, TableInfo } from '../db/catalog.js';
import type { ColumnRename } from './types.js';

/** A source column that takes part in the copy, and the target column it is written into. */
export interface MappedColumn {
  readonly source: ColumnInfo;
  readonly target: string;
}

export interface ColumnControlOutcome {
  /** The source's columns, in its order, less the excluded ones, under their target names. */
  readonly mapped: readonly MappedColumn[];
  readonly excluded: readonly string[];
  readonly renamed: readonly ColumnRename[];
  readonly errors: readonly string[];
}

/**
 * A table's `columns: { exclude, rename }`, applied before the shared-columns rule: an excluded
 * column is as if the source lacked it, a renamed one as if the source called it by its target
 * name. A name the source lacks, a rename onto a column the target lacks, or a rename onto a name
 * another source column already goes into, is an error naming target, table and column.
 */
export function applyColumnControl(
  targetName: string,
  spec: TableSpec,
  source: TableInfo,
  target: TableInfo,
  schemas: { readonly source: string; readonly target: string },
): ColumnControlOutcome {
  const control = spec.columns;
  const sourceNames = new Set(source.columns.map((c) => c.name));
  const targetNames = new Set(target.columns.map((c) => c.name));
  const errors: string[] = [];
  const sourceTable = `source table "${schemas.source}"."${spec.source}"`;
  const where = `target "${targetName}", table "${spec.target}"`;
  const excluded = (control?.exclude ?? []).filter((name) => {
    if (sourceNames.has(name)) return true;
    errors.push(`columns.exclude: ${where}: ${sourceTable} has no column "${name}"`);
    return false;
  });
  const renamed: ColumnRename[] = [];
  for (const [from, to] of Object.entries(control?.rename ?? {})) {
    if (!sourceNames.has(from)) {
      errors.push(`columns.rename: ${where}: ${sourceTable} has no column "${from}"`);
    } else if (!targetNames.has(to)) {
      errors.push(
        `columns.rename: ${where}: target table "${schemas.target}"."${spec.target}" has no column "${to}" (for source column "${from}")`,
      );
    } else {
      renamed.push({ source: from, target: to });
    }
  }
  const skip = new Set(excluded);
  const targetOf = new Map(renamed.map((r) => [r.source, r.target]));
  const mapped = source.columns
    .filter((c) => !skip.has(c.name))
    .map((c) => ({ source: c, target: targetOf.get(c.name) ?? c.name }));
  for (const r of renamed) {
    const clash = mapped.find((m) => m.target === r.target && m.source.name !== r.source);
    if (clash) {
      errors.push(
        `columns.rename: ${where}: source column "${r.source}" is renamed onto "${r.target}", which source column "${clash.source.name}" is also written into (exclude or rename it)`,
      );
    }
  }
  return { mapped, excluded, renamed, errors };
}
