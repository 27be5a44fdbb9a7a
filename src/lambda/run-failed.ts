import { PgcopyError } from '../errors.js';
import { pairName } from '../plan/types.js';
import type { RunReport, TableResult } from '../report/events.js';
import { FAILED_LISTED } from './item-summary.js';

export interface RunSummary {
  readonly status: RunReport['status'];
  readonly tables: number;
  readonly done: number;
  readonly warnings: number;
  readonly errors: number;
  readonly rows: number;
  readonly bytes: number;
}

export function summarize(report: RunReport): RunSummary {
  const count = (s: TableResult['status']): number =>
    report.tables.filter((t) => t.status === s).length;
  return {
    status: report.status,
    tables: report.tables.length,
    done: count('done'),
    warnings: count('warnings'),
    errors: count('error') + count('unknown'),
    rows: report.tables.reduce((sum, t) => sum + t.rows, 0),
    bytes: report.tables.reduce((sum, t) => sum + t.bytes, 0),
  };
}

function name(t: TableResult): string {
  return pairName({ targetName: t.target, targetTable: t.table });
}

/**
 * A run in which a table failed: the invocation fails with it, and its name (errorType, see
 * error-type.ts) tells the state machine whether a retry may help. The message carries the summary
 * (Lambda passes on only the error's name and message); `code` is TIMEOUT when the time limit
 * stopped a table, else RUN_FAILED.
 */
export class RunFailedError extends PgcopyError {
  readonly summary: RunSummary;

  constructor(readonly report: RunReport) {
    const summary = summarize(report);
    const failed = report.tables.filter((t) => t.status === 'error' || t.status === 'unknown');
    const timedOut = failed.filter((t) => t.error?.code === 'TIMEOUT');
    const other = failed.filter((t) => t.error?.code !== 'TIMEOUT');
    // Bounded: Step Functions keeps the message (the Catch's Cause) in the execution's state.
    const listed = (pairs: TableResult[]): string =>
      pairs.length > FAILED_LISTED
        ? `${pairs.slice(0, FAILED_LISTED).map(name).join(', ')} and ${pairs.length - FAILED_LISTED} more`
        : pairs.map(name).join(', ');
    const parts = [
      `${summary.errors} of ${summary.tables} table(s) failed (${summary.done} done, ${summary.warnings} done with warnings, ${summary.rows} rows copied)`,
      ...(timedOut.length > 0
        ? [
            `did not finish before the Lambda time limit (rolled back, or not started; nothing written): ${listed(timedOut)}`,
          ]
        : []),
      ...other
        .slice(0, FAILED_LISTED)
        .map(
          (t) =>
            `${name(t)}: [${t.error?.code ?? 'ERROR'}] ${(t.error?.message ?? '').slice(0, 300)}`,
        ),
      ...(other.length > FAILED_LISTED
        ? [`${other.length - FAILED_LISTED} more failed table(s) (see the log)`]
        : []),
    ];
    super(timedOut.length > 0 ? 'TIMEOUT' : 'RUN_FAILED', parts.join('; '));
    this.summary = summary;
  }
}
