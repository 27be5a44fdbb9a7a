import { setTimeout as sleep } from 'node:timers/promises';
import type { TablePlan } from '../plan/types.js';
import type { EventListener, TableError, TableResult } from '../report/events.js';
import { refOf, resultOf } from './copy-pair.js';
import { SnapshotCoordinator } from './snapshot.js';
import type { SnapshotHolder } from './snapshot-holder.js';

export interface RetryPolicy {
  /** Attempts after the first (options.retries). */
  readonly retries: number;
  /** The first retry waits up to this long; each further one twice as long, up to maxDelayMs. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** [0, 1): the jitter; Math.random by default. */
  readonly random?: () => number;
}

export const DEFAULT_RETRY_DELAYS = { baseDelayMs: 500, maxDelayMs: 15_000 } as const;

/**
 * Exponential backoff with jitter: retry `n` (1-based) waits between half and all of
 * base * 2^(n-1), capped, so that tables that failed together do not all come back at once.
 */
export function backoffMs(retry: number, policy: RetryPolicy): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  const random = policy.random ?? Math.random;
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}

/**
 * Runs one pair's copy, and runs it again from scratch (a new target transaction, the same
 * snapshot while it lives) after a transient failure, at most `retries` more times. copyPair
 * never throws and rolls back what it wrote, so each attempt starts from the table as it was.
 */
export async function copyWithRetries(
  plan: TablePlan,
  attempt: (snapshot: SnapshotCoordinator) => Promise<TableResult>,
  context: {
    readonly snapshots: SnapshotHolder;
    readonly policy: RetryPolicy;
    readonly signal?: AbortSignal | undefined;
    readonly emit: EventListener;
    readonly now: () => Date;
  },
): Promise<TableResult> {
  const { policy, snapshots } = context;
  const most = policy.retries + 1;
  for (let n = 1; ; n += 1) {
    const snapshot = await snapshots.current();
    if (!(snapshot instanceof SnapshotCoordinator)) {
      return { ...snapshotLostResult(plan, snapshot), attempts: n - 1 };
    }
    const result = { ...(await attempt(snapshot)), attempts: n };
    const error = result.error;
    // A failure while the snapshot was lost (its transaction gone under the join) is worth a
    // new attempt in the re-exported one.
    const retryable = error !== null && (error.transient === true || snapshots.isLost(snapshot));
    if (!retryable || n >= most || context.signal?.aborted) return result;
    const delayMs = backoffMs(n, policy);
    context.emit({
      type: 'table-retry',
      at: context.now().toISOString(),
      ref: refOf(plan),
      attempt: n + 1,
      attempts: most,
      delayMs,
      error,
    });
    try {
      await sleep(delayMs, undefined, context.signal ? { signal: context.signal } : {});
    } catch {
      return result; // interrupted while waiting: the failed attempt is the table's outcome
    }
  }
}

/** A pair that could not (re)start because the run's snapshot was lost and is not re-exported. */
function snapshotLostResult(plan: TablePlan, error: TableError): TableResult {
  return resultOf(plan, { rows: 0, bytes: 0, seconds: 0, warnings: plan.warnings, error });
}
