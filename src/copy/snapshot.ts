import type pg from 'pg';
import { quoteLiteral } from '../db/quote.js';
import { ConnectionWatch } from './connection-watch.js';

/** How a source connection joins the snapshot. */
export interface JoinOptions {
  readonly readOnly: boolean;
  /** `SET LOCAL ...` statements for this transaction only. */
  readonly local?: readonly string[];
}

/**
 * Holds a REPEATABLE READ READ ONLY transaction open on the source and exports its snapshot, so every
 * worker reads the source as of the same instant. The snapshot lives as long as this transaction.
 */
export class SnapshotCoordinator {
  /** Sees the coordinator's connection end: its transaction, and the snapshot, end with it. */
  private readonly watch: ConnectionWatch;

  private constructor(
    private readonly client: pg.Client,
    readonly snapshotId: string,
    /** The snapshot is another's (a replication slot's export): closing leaves its connection be. */
    private readonly external = false,
  ) {
    this.watch = new ConnectionWatch(client);
  }

  /**
   * Joins a snapshot exported elsewhere (CREATE_REPLICATION_SLOT ... EXPORT_SNAPSHOT, for pgcopy
   * sync): `holder` is the connection that keeps it alive, watched but never closed here.
   */
  static adopt(holder: pg.Client, snapshotId: string): SnapshotCoordinator {
    return new SnapshotCoordinator(holder, snapshotId, true);
  }

  /** Why the snapshot is gone (its coordinator's connection ended), or undefined while it lives. */
  get lost(): Error | undefined {
    return this.watch.lost;
  }

  static async open(client: pg.Client): Promise<SnapshotCoordinator> {
    try {
      // The coordinator idles in its transaction for the whole run: a server or role default
      // idle_in_transaction_session_timeout would end it, and with it the snapshot. One round
      // trip: the BEGIN inside the string makes the export part of a transaction that stays open.
      const results = (await client.query(
        [
          'SET idle_in_transaction_session_timeout = 0',
          'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
          'SELECT pg_export_snapshot() AS id',
        ].join('; '),
      )) as unknown as pg.QueryResult<{ id: string }>[];
      const id = results[2]?.rows[0]?.id;
      if (id === undefined) throw new Error('pg_export_snapshot() returned no snapshot');
      return new SnapshotCoordinator(client, id);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
  }

  /**
   * Puts a source connection, idle outside any transaction, into the exported snapshot: read-only,
   * unless the table is written through the source's session (fdw-push's temporary server
   * objects). `local` settings (`SET LOCAL ...`) hold for this transaction only. One round trip:
   * the BEGIN inside the query string makes the rest one explicit transaction, which stays open.
   */
  async join(worker: pg.ClientBase, options: JoinOptions = { readOnly: true }): Promise<void> {
    await worker.query(this.joinSql(options));
  }

  /** The statements that join the snapshot, in one query string (which a COPY may end). */
  joinSql(options: JoinOptions): string {
    return [
      `BEGIN ISOLATION LEVEL REPEATABLE READ${options.readOnly ? ' READ ONLY' : ''}`,
      `SET TRANSACTION SNAPSHOT ${quoteLiteral(this.snapshotId)}`,
      ...(options.local ?? []),
    ].join('; ');
  }

  async close(): Promise<void> {
    this.watch[Symbol.dispose]();
    if (this.external) return;
    try {
      await this.client.query('ROLLBACK');
    } finally {
      await this.client.end();
    }
  }
}
