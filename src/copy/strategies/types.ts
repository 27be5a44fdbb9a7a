import type pg from 'pg';
import type { ConnectionSpec } from '../../db/connection-spec.js';
import type { TablePlan } from '../../plan/types.js';
import type { RowChanges } from '../../report/events.js';
import type { PairRecord } from '../../ledger/pair-record.js';

/** Statements that begin a side's transaction, left to the COPY's query string. */
export interface Begin {
  readonly source?: string | undefined;
  readonly target?: string | undefined;
}

/** What one table's load gets from copy-pair, which owns the transactions, the result and the events. */
export interface LoadContext {
  readonly plan: TablePlan;
  /**
   * In the run's snapshot: read-only, or read-write for a strategy that writes on the source
   * (idle, outside a transaction, when `begin.source` is given).
   */
  readonly source: pg.ClientBase;
  /** In the table's transaction, begun (idle, outside a transaction, when `begin.target` is given). */
  readonly target: pg.ClientBase;
  /**
   * The table to write the rows into, readied in the target's transaction (truncated, triggers
   * off, staging table made: see destinationSetup). Unused by a strategy that writes on the source.
   */
  readonly destination: string;
  readonly sourceSpec: ConnectionSpec;
  readonly targetSpec: ConnectionSpec;
  /** The run's exported snapshot, for a remote session to read the same instant. */
  readonly snapshotId: string;
  readonly signal?: AbortSignal | undefined;
  /**
   * Where the pair records itself in the target's ledger, when the target has one: a strategy that
   * commits on the source (fdw-push) writes the record there, in the rows' remote transaction.
   */
  readonly ledger?: PairRecord | undefined;
  /**
   * Watches for lock waits a target session the strategy opens through the source (fdw-push's
   * postgres_fdw connection), found by its application_name; the strategy disposes it.
   */
  readonly watchRemote?: ((applicationName: string) => Disposable) | undefined;
  /**
   * The statements that begin a side's transaction (the snapshot's join; BEGIN and the target's
   * preparation), for the strategy to send first in its COPY's query string: copy-pair leaves
   * them to it (stream only). A side absent here has its transaction begun already.
   */
  readonly begin?: Begin | undefined;
  /** Bytes of COPY data passed through so far (a strategy that moves no data never calls it). */
  readonly onProgress?: ((bytes: number) => void) | undefined;
}

export interface Loaded {
  /** Rows read from the source. */
  readonly rows: number;
  /** Rows inserted or updated in the target (upsert, insert-new: may be fewer than rows). */
  readonly written: number;
  /** upsert and insert-new: what ON CONFLICT did with the rows. */
  readonly changes?: RowChanges;
  /** Bytes that passed through pgcopy (0 when the servers move the rows between them). */
  readonly bytes: number;
}

/** One way of moving a table's rows; copy-pair commits or rolls back around it. */
export interface CopyStrategy {
  /**
   * Writes through the source session (fdw-push): its snapshot transaction is read-write, and the
   * table's rows commit with it, before the target's own transaction.
   */
  readonly writesOnSource: boolean;
  load(context: LoadContext): Promise<Loaded>;
}
