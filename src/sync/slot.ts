import type pg from 'pg';
import { quoteIdent } from '../db/quote.js';
import type { Connector } from '../db/connector.js';
import { SnapshotCoordinator } from '../copy/snapshot.js';

/**
 * A logical slot just created over a replication connection, with the snapshot it exported: a
 * copy made in that snapshot holds exactly the transactions before `consistentPoint`, and the
 * slot carries every one after it. The snapshot lives while `holder` runs no other command.
 */
export interface ExportedSlot {
  readonly slot: string;
  /** The slot's consistent point, as PostgreSQL writes an LSN (`16/B374D848`). */
  readonly consistentPoint: string;
  /** A coordinator whose `join` puts a source connection into the exported snapshot. */
  readonly snapshot: SnapshotCoordinator;
  /** Ends the replication connection: the snapshot ends, and a temporary slot is dropped. */
  close(): Promise<void>;
}

/**
 * Creates the slot (pgoutput) and exports its snapshot. `temporary`: the slot is dropped when the
 * connection ends (a table added later is copied in its snapshot; the lasting slot carries the
 * changes after that snapshot's consistent point).
 */
export async function createSlotWithSnapshot(
  source: Connector,
  slot: string,
  options: { temporary?: boolean; signal?: AbortSignal } = {},
): Promise<ExportedSlot> {
  const holder = await source.connect({
    replication: true,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  try {
    const { rows } = await holder.query<{ consistent_point: string; snapshot_name: string }>(
      `CREATE_REPLICATION_SLOT ${quoteIdent(slot)}${options.temporary ? ' TEMPORARY' : ''} LOGICAL pgoutput EXPORT_SNAPSHOT`,
    );
    const row = rows[0];
    if (!row) throw new Error(`CREATE_REPLICATION_SLOT ${slot} returned no row`);
    const snapshot = SnapshotCoordinator.adopt(holder, row.snapshot_name);
    return {
      slot,
      consistentPoint: row.consistent_point,
      snapshot,
      close: async () => {
        await snapshot.close();
        await holder.end().catch(() => undefined);
      },
    };
  } catch (error) {
    await holder.end().catch(() => undefined);
    throw error;
  }
}

/** The slot as pg_replication_slots shows it, with the WAL it holds back. */
export interface SlotInfo {
  readonly slot: string;
  readonly plugin: string | null;
  readonly database: string | null;
  readonly active: boolean;
  /** Where the next catch-up reads from (the lowest position every target has applied). */
  readonly confirmedFlush: string | null;
  readonly restart: string | null;
  /** The source's WAL position now. */
  readonly current: string;
  /** WAL the slot keeps on the source's disk (current position - restart_lsn). */
  readonly heldBytes: number;
  /** From confirmed_flush to now: what the targets have yet to apply. */
  readonly lagBytes: number;
}

/** The slot, or undefined when it does not exist. */
export async function slotInfo(client: pg.ClientBase, slot: string): Promise<SlotInfo | undefined> {
  const { rows } = await client.query<{
    plugin: string | null;
    database: string | null;
    active: boolean;
    confirmed: string | null;
    restart: string | null;
    current: string;
    held: string | null;
    lag: string | null;
  }>(
    `SELECT plugin, database, active, confirmed_flush_lsn::text AS confirmed,
            restart_lsn::text AS restart, pg_current_wal_lsn()::text AS current,
            pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::text AS held,
            pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::text AS lag
       FROM pg_replication_slots WHERE slot_name = $1`,
    [slot],
  );
  const row = rows[0];
  if (!row) return undefined;
  return {
    slot,
    plugin: row.plugin,
    database: row.database,
    active: row.active,
    confirmedFlush: row.confirmed,
    restart: row.restart,
    current: row.current,
    heldBytes: Math.max(0, Number(row.held ?? 0)),
    lagBytes: Math.max(0, Number(row.lag ?? 0)),
  };
}

/** Drops the slot if it exists; true when it did. A slot a running sync reads is refused by the server. */
export async function dropSlot(client: pg.ClientBase, slot: string): Promise<boolean> {
  const { rows } = await client.query<{ dropped: boolean }>(
    `SELECT pg_drop_replication_slot(slot_name) IS NULL AS dropped
       FROM pg_replication_slots WHERE slot_name = $1`,
    [slot],
  );
  return rows.length > 0;
}
