import { PgcopyError } from '../errors.js';
import { isKeyedMode, type TablePlan } from '../plan/types.js';
import type { PairHooks } from '../copy/pair-hooks.js';
import {
  checksum,
  compare,
  checksumZone,
  copyZones,
  sourceChecksumSql,
  targetChecksumSql,
} from './checksum.js';

/** A copied table whose rows, read back before COMMIT, differ from the source's. */
export class VerifyError extends PgcopyError {
  constructor(message: string) {
    super('VERIFY', message);
  }
}

/** What verifying one table found and cost. */
export interface Verified {
  readonly rows: number;
  readonly seconds: number;
}

/**
 * `run --verify`: inside the table's own target transaction, after the load and before COMMIT,
 * compares the rows it wrote with the source's in the snapshot they were copied from; a mismatch
 * throws, and the table rolls back. Truncate compares the whole table; append compares the rows
 * this transaction wrote (xmin), so rows the table already had do not count. upsert compares the
 * target's rows of the staged keys (an unchanged row is not rewritten, so its xmin is older);
 * insert-new, which leaves existing rows as they are, only counts them.
 * fdw-push is not verified here: its rows were committed with the source's transaction.
 */
export function verifyBeforeCommit(
  record: (plan: TablePlan, verified: Verified) => void,
): NonNullable<PairHooks['beforeCommit']> {
  return async ({ plan, source, target }) => {
    if (plan.strategy === 'fdw-push') return;
    const started = performance.now();
    const scope =
      plan.mode === 'truncate'
        ? 'table'
        : isKeyedMode(plan.mode)
          ? 'staged-keys'
          : 'this-transaction';
    // This table's own sessions: their zones are the ones its conversions ran in.
    const zones = await copyZones(plan, source, target);
    const zone = checksumZone(plan, zones);
    const sourceSum = await checksum(source, sourceChecksumSql(plan, zones), zone);
    const targetSum = await checksum(target, targetChecksumSql(plan, scope), zone);
    const { mismatch } = compare(plan, sourceSum, targetSum, {
      values: plan.mode !== 'insert-new',
    });
    if (mismatch) throw new VerifyError(`verification failed: ${mismatch}; rolled back`);
    record(plan, {
      rows: sourceSum.rows,
      seconds: Math.round(performance.now() - started) / 1000,
    });
  };
}
