import type { Plan, TablePlan } from '../plan/types.js';
import { sourceColumnName } from '../plan/types.js';
import type { TableMapping } from './types.js';

export interface MappingOptions {
  /** Tables synced insert-only (config opt-in): their updates and deletes are not applied. */
  readonly insertOnly?: (table: TablePlan) => boolean;
}

/**
 * How each planned source table of one target takes changes: the columns the copy writes (shared,
 * not excluded), each under its target name (renamed or not). Tables whose plan has errors are not
 * copied, so they take no changes.
 */
export function mappingsFor(
  plan: Plan,
  targetName: string,
  options: MappingOptions = {},
): TableMapping[] {
  const target = plan.targets.find((t) => t.name === targetName);
  if (!target) return [];
  return target.tables
    .filter((table) => table.errors.length === 0)
    .map((table) => mappingOf(table, options.insertOnly?.(table) === true));
}

function mappingOf(table: TablePlan, insertOnly: boolean): TableMapping {
  const columns = new Map<string, string>();
  for (const column of table.columns) columns.set(sourceColumnName(table, column), column);
  return {
    sourceSchema: table.sourceSchema,
    sourceTable: table.sourceTable,
    targetSchema: table.targetSchema,
    targetTable: table.targetTable,
    columns,
    ...(insertOnly ? { insertOnly: true } : {}),
    ...(table.targetKind === 'p' ? { targetPartitioned: true } : {}),
    ...(table.overridingSystemValue ? { overridingSystemValue: true } : {}),
    ...(table.identityAlways && table.identityAlways.length > 0
      ? { identityAlways: table.identityAlways }
      : {}),
  };
}
