import type { RunReport, TableResult } from '../report/events.js';

/** How many failed pairs a summary names; the rest are counted in `more`. */
export const FAILED_LISTED = 20;

/** A failed pair as a summary names it: enough to find its full entry in the log. */
export interface FailedPair {
  readonly target: string;
  readonly table: string;
  readonly status: 'error' | 'unknown';
  readonly code: string;
}

/**
 * What an invocation returns for its item: counts and the failed pairs (at most FAILED_LISTED),
 * bounded whatever the number of tables, so that a fan-out's state stays small. The full report
 * is in the function's log (one entry per table, and the run-end entry).
 */
export interface ItemSummary {
  readonly runId: string;
  readonly status: RunReport['status'];
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly pairs: number;
  readonly done: number;
  readonly warnings: number;
  readonly failed: number;
  /** Skipped as committed before (the run id's ledger, or a resumed report). */
  readonly skipped: number;
  readonly rows: number;
  readonly bytes: number;
  readonly failedPairs: readonly FailedPair[];
  /** Failed pairs not listed in failedPairs. */
  readonly more: number;
}

const isFailed = (t: TableResult): t is TableResult & { status: 'error' | 'unknown' } =>
  t.status === 'error' || t.status === 'unknown';

export function itemSummary(report: RunReport, runId: string): ItemSummary {
  const failed = report.tables.filter(isFailed);
  const count = (status: TableResult['status']): number =>
    report.tables.filter((t) => t.status === status && t.resumed !== true && !t.committedBefore)
      .length;
  return {
    runId,
    status: report.status,
    startedAt: report.startedAt,
    finishedAt: report.finishedAt,
    pairs: report.tables.length,
    done: count('done'),
    warnings: count('warnings'),
    failed: failed.length,
    skipped: report.tables.filter((t) => t.resumed === true || t.committedBefore !== undefined)
      .length,
    rows: report.tables.reduce((sum, t) => sum + t.rows, 0),
    bytes: report.tables.reduce((sum, t) => sum + t.bytes, 0),
    failedPairs: failed.slice(0, FAILED_LISTED).map((t) => ({
      target: t.target,
      table: t.table,
      status: t.status,
      code: t.error?.code ?? 'ERROR',
    })),
    more: Math.max(0, failed.length - FAILED_LISTED),
  };
}
