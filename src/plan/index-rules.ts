import type { RebuildIndexesConfig, RebuildIndexesSetting } from '../config/types.js';
import { DEFAULT_REBUILD_INDEXES } from '../config/split.js';
import { rebuildRefusedFor, type TableIndexes } from '../db/target-indexes.js';
import { formatMegabytes } from '../report/format.js';
import { isKeyedMode, type IndexRebuildPlan, type TablePlan } from './types.js';

/** The rebuildIndexes setting that applies to a table, and whether the config gave it. */
export interface RebuildIndexesChoice {
  readonly config: RebuildIndexesConfig;
  /** Given at some level: append mode rebuilds only then. */
  readonly explicit: boolean;
}

/** The most specific setting: the table's, else the target's, else the run's, else the default. */
export function rebuildIndexesOf(
  ...levels: readonly (RebuildIndexesSetting | undefined)[]
): RebuildIndexesChoice | undefined {
  const setting = levels.find((s) => s !== undefined);
  if (setting === false) return undefined;
  return setting === undefined
    ? { config: DEFAULT_REBUILD_INDEXES, explicit: false }
    : { config: setting, explicit: true };
}

/** The plan says something about a table's indexes only when it is big enough and plannable. */
function concerned(table: TablePlan, choice: RebuildIndexesChoice | undefined): boolean {
  return (
    choice !== undefined &&
    table.errors.length === 0 &&
    table.estimatedBytes >= choice.config.minBytes
  );
}

/** Why a big table keeps its indexes whatever they are, or undefined. */
function refusal(table: TablePlan, choice: RebuildIndexesChoice): string | undefined {
  if (table.strategy === 'fdw-push') return "fdw-push loads through the source's session";
  if (isKeyedMode(table.mode)) return `${table.mode}'s ON CONFLICT needs the key's index`;
  if (table.mode === 'append' && !choice.explicit) {
    return 'append mode rebuilds only when rebuildIndexes is set (dropping an index locks the table ACCESS EXCLUSIVE for the whole load)';
  }
  if ((table.split?.parts ?? 1) > 1) {
    return "the table is split into parts (the drop's lock would hold every other part back)";
  }
  if (table.targetKind === 'p') {
    return 'the target is partitioned (its indexes are partitioned indexes)';
  }
  if (table.targetKind !== 'r') return 'the target is not a plain table';
  return undefined;
}

/** Whether the plan needs the target's indexes of this table to decide. */
export function needsIndexes(table: TablePlan, choice: RebuildIndexesChoice | undefined): boolean {
  return choice !== undefined && concerned(table, choice) && refusal(table, choice) === undefined;
}

function kept(indexes: TableIndexes | undefined): string {
  const names = indexes?.kept ?? [];
  return names.length === 0 ? '' : ` (kept: ${names.join(', ')})`;
}

/**
 * The plan's decision for a big table's secondary indexes: dropped before the load and created
 * again before COMMIT, in the table's transaction, or why they stay. `indexes` is what the target's
 * catalog said (needsIndexes asked for it).
 */
export function applyIndexRules(
  table: TablePlan,
  choice: RebuildIndexesChoice | undefined,
  indexes: TableIndexes | undefined,
): TablePlan {
  if (!choice || !concerned(table, choice)) return table;
  const size = `${formatMegabytes(table.estimatedBytes)} MB`;
  const rebuildable = indexes?.rebuildable ?? [];
  let reason = refusal(table, choice);
  if (reason === undefined && rebuildable.length === 0) {
    reason = `no secondary index can be dropped and created again${kept(indexes)}`;
  }
  if (reason === undefined && indexes) reason = rebuildRefusedFor(indexes);
  const plan: IndexRebuildPlan =
    reason === undefined ? { indexes: rebuildable.map((i) => i.name) } : { indexes: [], reason };
  const note =
    reason === undefined
      ? `${size}: indexes ${plan.indexes.join(', ')} dropped for the load and created again before COMMIT${kept(indexes)}${
          table.mode === 'append'
            ? '; append mode: the table is locked ACCESS EXCLUSIVE for the whole load'
            : ''
        }`
      : `${size}: indexes kept during the load: ${reason}`;
  return { ...table, rebuildIndexes: plan, notes: [...(table.notes ?? []), note] };
}
