import { formatCount } from '../report/format.js';
import type { AppliedCounts } from './types.js';

/** `12 inserts, 3 updates, 1 delete, 0 truncates (16 transactions)`: a target's line in logs. */
export function appliedLine(applied: AppliedCounts): string {
  const n = (count: number, word: string): string =>
    `${formatCount(count)} ${word}${count === 1 ? '' : 's'}`;
  return `${n(applied.inserts, 'insert')}, ${n(applied.updates, 'update')}, ${n(applied.deletes, 'delete')}, ${n(applied.truncates, 'truncate')} (${n(applied.transactions, 'transaction')})`;
}
