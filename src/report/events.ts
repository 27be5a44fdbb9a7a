import type { Mode, Strategy } from '../config/types.js';
import type { Plan } from '../plan/types.js';

/**
 * `unknown`: the connection was lost during the table's COMMIT (or its prepared parts' COMMIT
 * PREPARED), so whether its rows are in cannot be known here; the next run with the same run id
 * reads it from the target's ledger.
 */
export type TableStatus = 'done' | 'warnings' | 'error' | 'unknown';

export interface TableError {
  readonly message: string;
  readonly code: string;
  readonly sqlstate?: string;
  /** A failure that a new attempt may not meet (a dropped connection, a deadlock...). */
  readonly transient?: boolean;
}

/** upsert and insert-new: what ON CONFLICT did with the rows read (unchanged: left as they were). */
export interface RowChanges {
  readonly inserted: number;
  readonly updated: number;
  readonly unchanged: number;
}

/** The outcome of one (target, table) pair, as the report and the audit log record it. */
export interface TableResult {
  readonly target: string;
  readonly source: string;
  readonly table: string;
  readonly status: TableStatus;
  readonly rows: number;
  /** upsert and insert-new: rows inserted, updated and left unchanged (absent in other modes). */
  readonly changes?: RowChanges;
  readonly bytes: number;
  readonly seconds: number;
  readonly strategy: Strategy;
  readonly format: 'binary' | 'text';
  readonly mode: Mode;
  readonly columns: readonly string[];
  readonly skipped: {
    readonly sourceOnly: readonly string[];
    readonly targetOnly: readonly string[];
  };
  readonly warnings: readonly string[];
  /** The code of each warning, in the same order (docs/warnings.md); absent without warnings. */
  readonly warningCodes?: readonly string[];
  /** The codes among them that the config acknowledges: they leave the table done. */
  readonly acknowledged?: readonly string[];
  readonly error: TableError | null;
  /** A failed table: what was read (and streamed) before it failed, then rolled back. */
  readonly rolledBack?: { readonly rows: number; readonly bytes: number };
  /** rebuildIndexes: the secondary indexes dropped for the load and created again before COMMIT. */
  readonly indexes?: { readonly rebuilt: readonly string[]; readonly seconds: number };
  /** run --verify: the rows compared before COMMIT, and what the comparison cost. */
  readonly verified?: { readonly rows: number; readonly seconds: number };
  /** A hash of the pair's plan: `run --resume` skips a done pair only while it is unchanged. */
  readonly planHash?: string;
  /** Skipped by `run --resume` or by the same run id: this result is the earlier run's. */
  readonly resumed?: boolean;
  /** Skipped because the target's ledger records it committed under this run id. */
  readonly committedBefore?: { readonly at: string; readonly rows: number };
  /** How many times the pair was tried (1 + retries); absent when it never started. */
  readonly attempts?: number;
}

export interface RunReport {
  /** The run's id: given (--run-id, the event's runId, the resumed report's) or generated. */
  readonly runId?: string;
  /** The pgcopy version that wrote the report. */
  readonly version?: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly status: TableStatus;
  readonly snapshot: string | null;
  /** Which source and targets the run copied between (`run --resume` checks it). */
  readonly configId?: string;
  /** Every snapshot the run read from, when the first was lost and re-exported. */
  readonly snapshots?: readonly string[];
  readonly tables: readonly TableResult[];
  /** Set when the run stopped before its tables ran (e.g. the source could not be reached). */
  readonly error?: TableError;
}

/**
 * A session holding a lock another waits for (pg_blocking_pids), or a prepared transaction: pid 0,
 * its owner as the user, state `prepared`, and `prepared` naming it.
 */
export interface LockHolder {
  readonly pid: number;
  readonly user: string;
  readonly application: string;
  readonly state: string;
  readonly prepared?: PreparedHolder;
}

/** A prepared transaction (PREPARE TRANSACTION) holding a lock: it holds it until it is finished. */
export interface PreparedHolder {
  readonly gid: string;
  readonly database: string;
  /** When it was prepared (ISO 8601, UTC), and how many seconds ago, by the target's clock. */
  readonly preparedAt: string;
  readonly seconds: number;
}

export interface TableRef {
  readonly target: string;
  readonly source: string;
  readonly table: string;
}

/** What the engine tells the outside world; renderers and sinks subscribe, the engine never prints. */
export type RunEvent = RunEventBody & {
  /** The run's id: every event of a run carries it. */
  readonly runId?: string;
  /** The pgcopy version that ran: every event of a run carries it. */
  readonly version?: string;
};

type RunEventBody =
  | { readonly type: 'plan'; readonly plan: Plan }
  | {
      readonly type: 'run-start';
      readonly at: string;
      readonly runId: string;
      readonly snapshot: string | null;
      readonly pairs: number;
      readonly estimatedBytes: number;
    }
  | {
      readonly type: 'table-start';
      readonly at: string;
      readonly ref: TableRef;
      readonly format: 'binary' | 'text';
      readonly mode: Mode;
      readonly estimatedRows: number;
      readonly estimatedBytes: number;
    }
  | {
      readonly type: 'table-progress';
      readonly ref: TableRef;
      /** COPY data passed through so far; rows are known at the end (table-done), from PostgreSQL. */
      readonly bytes: number;
      readonly seconds: number;
    }
  | {
      readonly type: 'table-retry';
      readonly at: string;
      readonly ref: TableRef;
      /** The attempt about to start (2 for the first retry) and the most there will be. */
      readonly attempt: number;
      readonly attempts: number;
      readonly delayMs: number;
      readonly error: TableError;
    }
  | {
      readonly type: 'table-waiting';
      readonly at: string;
      readonly ref: TableRef;
      /** How long the target session has waited for a lock so far. */
      readonly seconds: number;
      readonly holders: readonly LockHolder[];
    }
  | {
      readonly type: 'snapshot-lost';
      readonly at: string;
      readonly snapshot: string;
      /** The re-exported snapshot, or null when the remaining tables fail. */
      readonly replacement: string | null;
    }
  | {
      /** Prepared parts of split tables left by an earlier run, finished as their table ended. */
      readonly type: 'prepared-settled';
      readonly at: string;
      readonly target: string;
      readonly committed: readonly string[];
      readonly rolledBack: readonly string[];
      /** Their first part is still running (another run): left alone. */
      readonly pending: readonly string[];
    }
  | {
      /** A target's ledger as the run found it: what this run id had committed, or why there is none. */
      readonly type: 'ledger';
      readonly at: string;
      readonly target: string;
      readonly schema: string;
      readonly available: boolean;
      /** Pairs this run id had committed on the target before this run started. */
      readonly committed: number;
      /** Rows older than the retention removed. */
      readonly pruned: number;
      readonly reason?: string;
    }
  | {
      readonly type: 'table-resume';
      readonly ref: TableRef;
      /** True: skipped, the earlier result stands; false: copied again. */
      readonly skipped: boolean;
      readonly reason: string;
    }
  | { readonly type: 'table-done'; readonly at: string; readonly result: TableResult }
  | { readonly type: 'table-failed'; readonly at: string; readonly result: TableResult }
  | { readonly type: 'run-end'; readonly report: RunReport };

export type EventListener = (event: RunEvent) => void;

export function overallStatus(tables: readonly TableResult[]): TableStatus {
  if (tables.some((t) => t.status === 'error')) return 'error';
  if (tables.some((t) => t.status === 'unknown')) return 'unknown';
  if (tables.some((t) => t.status === 'warnings')) return 'warnings';
  return 'done';
}
