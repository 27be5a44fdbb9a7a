import type pg from 'pg';
import { pipeline } from 'node:stream/promises';
import { readColumnsOf, type ReadColumn } from '../../plan/read-columns.js';
import type { TablePlan } from '../../plan/types.js';
import { sourceSessionLocals } from '../copy-pair.js';
import { PGCOPY_PATH_LOCAL_SQL, userPathLocalSql } from '../../db/search-path.js';
import { closeDestination } from '../destination.js';
import type { SnapshotCoordinator } from '../snapshot.js';
import { afterBegin, copyInSql, copyOutSql } from '../sql.js';
import type { Loaded } from '../strategies/types.js';
import type { WorkerConnections } from '../worker-connections.js';
import { CopyInWriter } from '../wire/copy-in-writer.js';
import { CopyOutReader } from '../wire/copy-out-reader.js';
import { CopyTee } from './copy-tee.js';
import { projectionFor } from './projection-for.js';

/** One target's load from a shared read: copy-pair's transaction around it, as for its own read. */
export interface SharedLoad {
  readonly plan: TablePlan;
  readonly target: pg.ClientBase;
  readonly destination: string;
  readonly signal?: AbortSignal | undefined;
  readonly onProgress?: ((bytes: number) => void) | undefined;
  /** The statements that begin the target's transaction, sent first in its COPY's query string. */
  readonly begin?: string | undefined;
}

/**
 * One COPY TO of a source table, streamed into several targets' COPY FROM at once (read once,
 * write many). It reads every source column a target's columns are read from, each once, on the
 * worker's source connection, in the run's snapshot, and gives each target the fields of its own
 * columns, matched by what they read from the source (never by the target's column names, which
 * renames make mean different source columns in different targets). Each member (one pair, run by
 * copy-pair in its own target transaction) joins, loads and leaves; a member that fails is
 * detached and the others go on. When every member has left, the source transaction ends and the
 * connection goes back to the worker: `closed` settles then.
 */
export class SharedRead {
  readonly closed: Promise<void>;
  private readonly tee: CopyTee;
  private joined: Promise<pg.Client> | undefined;
  /** The worker's source connection, once taken: the read's to hand back. */
  private client: pg.Client | undefined;
  private reading: Promise<void> | undefined;
  private readonly abortable: { signal?: AbortSignal };
  private readonly attached = new Set<TablePlan>();
  private left = 0;
  private close: () => void = () => undefined;
  private afterwards: Promise<unknown>;

  /**
   * @param members the pairs that take this read (the same source table, `where`, format)
   * @param columns the source columns read: every member's, each once
   */
  constructor(
    private readonly members: readonly TablePlan[],
    private readonly columns: readonly ReadColumn[],
    private readonly connections: WorkerConnections,
    signal?: AbortSignal,
  ) {
    this.abortable = signal ? { signal } : {};
    this.tee = new CopyTee(members.length);
    this.closed = new Promise((resolve) => (this.close = resolve));
    this.afterwards = this.closed;
  }

  /**
   * Runs a member's later attempt (a retry reads alone) once the read is over and the worker's
   * connections are free again, one such attempt at a time.
   */
  alone<T>(attempt: () => Promise<T>): Promise<T> {
    const turn = this.afterwards.then(attempt);
    this.afterwards = turn.catch(() => undefined);
    return turn;
  }

  /**
   * The source connection in the snapshot, reading (the first member to join starts the read; the
   * rows wait in the tee until every member is there or has given up).
   */
  join(snapshot: SnapshotCoordinator): Promise<pg.Client> {
    this.joined ??= this.start(snapshot);
    return this.joined;
  }

  private async start(snapshot: SnapshotCoordinator): Promise<pg.Client> {
    const [first] = this.members as [TablePlan];
    const client = await this.connections.sourceClient(this.abortable);
    this.client = client;
    // Only the table, its `where` and its format are the first member's: the same in every member.
    // The COPY's query string joins the snapshot first: one wait fewer.
    const join = snapshot.joinSql({ readOnly: true, local: sourceSessionLocals(first) });
    const read = client.query(new CopyOutReader(afterBegin(join, copyOutSql(first, this.columns))));
    this.reading = pipeline(read, this.tee, this.abortable);
    // A failed read reaches each member through its output; this copy of it must not go unheard.
    this.reading.catch(() => undefined);
    return client;
  }

  /** Streams the member's columns into its target's COPY FROM; done when the whole read is. */
  async load({
    plan,
    target,
    destination,
    signal,
    onProgress,
    begin,
  }: SharedLoad): Promise<Loaded> {
    const projection = projectionFor(
      plan.format,
      this.columns.map((c) => c.sql),
      readColumnsOf(plan).map((c) => c.sql),
      (counts) => onProgress?.(counts.bytes),
    );
    // The switch to the target's configured search_path is queued ahead of the COPY, without
    // a wait before attaching: the shared read must not stall on one member.
    const userCode = plan.runsUserCode === true;
    const userPath = userCode ? target.query(userPathLocalSql(target)) : Promise.resolve();
    userPath.catch(() => undefined); // heard below, or the pipeline's error is the one reported
    const input = target.query(new CopyInWriter(afterBegin(begin, copyInSql(plan, destination))));
    this.attached.add(plan);
    this.tee.attach(projection);
    await pipeline(projection, input, signal ? { signal } : {});
    await userPath;
    await this.reading;
    const rows = input.rowCount;
    const written = await closeDestination(target, plan, rows);
    if (userCode) await target.query(PGCOPY_PATH_LOCAL_SQL);
    return { rows, ...written, bytes: projection.counts.bytes };
  }

  /**
   * A member is done with the source connection (its copy, and any query of its own there, such
   * as verification, are over). The last one ends the source transaction.
   */
  leave(plan: TablePlan): void {
    if (!this.attached.has(plan)) this.tee.giveUp();
    this.left += 1;
    if (this.left === this.members.length) void this.end().finally(this.close);
  }

  private async end(): Promise<void> {
    const client = this.client;
    if (!client) return;
    // Every member has left, so the join has settled. The connection goes back to the worker
    // only when the read (which joined the snapshot in its query string) ended and its
    // transaction with it.
    const usable = await Promise.resolve(this.reading)
      .then(() => client.query('ROLLBACK'))
      .then(
        () => true,
        () => false,
      );
    await this.connections.release(client, usable);
  }
}
