import type { Config, Mode, TableSpec, TargetConfig } from '../config/types.js';
import { ConfigError } from '../errors.js';

export interface PlanFilters {
  /** Only these targets (by name). */
  readonly targets?: readonly string[] | undefined;
  /** Only these tables (source or target name). */
  readonly tables?: readonly string[] | undefined;
  /** Replaces options.mode for tables without their own mode. */
  readonly mode?: Mode | undefined;
  /** Protected targets (`protected: true`) on which `truncate` mode is allowed for this run. */
  readonly allowTruncate?: readonly string[] | undefined;
}

export interface SelectedTarget {
  readonly config: TargetConfig;
  readonly tables: readonly TableSpec[];
}

/** Applies --target/--table filters; unknown names are usage errors that list what exists. */
export function selectTables(config: Config, filters: PlanFilters = {}): SelectedTarget[] {
  const names = config.targets.map((t) => t.name);
  for (const name of filters.targets ?? []) {
    if (!names.includes(name)) {
      throw new ConfigError(`--target: no target named "${name}" (targets: ${names.join(', ')})`);
    }
  }
  for (const name of filters.allowTruncate ?? []) {
    if (!names.includes(name)) {
      throw new ConfigError(
        `--allow-truncate: no target named "${name}" (targets: ${names.join(', ')})`,
      );
    }
  }
  const allTables = new Set(
    config.targets.flatMap((t) => t.tables.flatMap((s) => [s.source, s.target])),
  );
  for (const table of filters.tables ?? []) {
    if (!allTables.has(table))
      throw new ConfigError(`--table: no table named "${table}" in any target`);
  }
  const wantTarget = (t: TargetConfig): boolean =>
    !filters.targets?.length || filters.targets.includes(t.name);
  const wantTable = (s: TableSpec): boolean =>
    !filters.tables?.length ||
    filters.tables.includes(s.source) ||
    filters.tables.includes(s.target);
  const selected = config.targets
    .filter(wantTarget)
    .map((t) => ({ config: t, tables: t.tables.filter(wantTable) }))
    .filter((t) => t.tables.length > 0);
  if (selected.length === 0)
    throw new ConfigError('--table: the filters select no table in the chosen targets');
  return selected;
}
