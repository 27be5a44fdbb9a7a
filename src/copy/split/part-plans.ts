import type pg from 'pg';
import type { TablePlan } from '../../plan/types.js';
import { keyBounds } from './key-bounds.js';
import { blockCount, blockRanges, keyPartPlan, partPlan, rangesBetween } from './ranges.js';

/**
 * The plans of a split table's `parts`, each reading its own share of the rows: a block range,
 * or a range of the integer key the plan chose (`split.by`). Read on `source`, in the snapshot.
 */
export async function partPlans(
  source: pg.ClientBase,
  plan: TablePlan,
  parts: number,
): Promise<TablePlan[]> {
  const key = plan.split?.by === 'key' ? plan.split.key : undefined;
  if (key === undefined) {
    return blockRanges(await blockCount(source, plan), parts).map((r) => partPlan(plan, r));
  }
  const bounds = await keyBounds(source, plan, key, parts);
  return rangesBetween(bounds).map((r) => keyPartPlan(plan, key, r));
}
