import type { AppliedCounts } from './types.js';

/** Nothing applied yet. */
export function zeroCounts(): AppliedCounts {
  return { inserts: 0, updates: 0, deletes: 0, truncates: 0, transactions: 0 };
}

/** Adds `from` into `into` (an applier's batch into its total, a target's into the sync's). */
export function addCounts(into: AppliedCounts, from: AppliedCounts): void {
  into.inserts += from.inserts;
  into.updates += from.updates;
  into.deletes += from.deletes;
  into.truncates += from.truncates;
  into.transactions += from.transactions;
}
