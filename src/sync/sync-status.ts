import type pg from 'pg';
import type { Config } from '../config/types.js';
import { describeError } from '../errors.js';
import { openConnectors, type SessionDeps } from '../session.js';
import { syncNames } from './names.js';
import { dropPublications } from './publication.js';
import { dropSlot, slotInfo } from './slot.js';
import { forgetSlotSql, syncStateName } from './sync-state.js';
import { slotWarnings } from './slot-warnings.js';

/** One target's place in the sync, as its sync_state says. */
export interface TargetSyncStatus {
  readonly target: string;
  /** Tables it follows (with a position). */
  readonly tables: number;
  /** The lowest position of its tables (null: none followed, or the target could not be read). */
  readonly position: string | null;
  /** Bytes of WAL between that position and the source's now. */
  readonly lagBytes: number | null;
  /** When its slowest table last moved, and how many seconds ago. */
  readonly lastAppliedAt: string | null;
  readonly lagSeconds: number | null;
  readonly error?: string;
}

export interface SyncStatus {
  readonly slot: string;
  readonly exists: boolean;
  /** A session is reading it now (a sync running). */
  readonly active: boolean;
  readonly confirmedFlush: string | null;
  readonly sourcePosition: string | null;
  /** WAL the slot keeps on the source's disk. */
  readonly heldBytes: number;
  /** From the slot's position to the source's now: what the targets have yet to apply. */
  readonly lagBytes: number;
  readonly publications: readonly { readonly name: string; readonly tables: number }[];
  readonly targets: readonly TargetSyncStatus[];
  readonly warnings: readonly string[];
}

export interface SyncAdminOptions {
  readonly deps?: SessionDeps | undefined;
}

/** `pgcopy sync --status`: the slot, its lag in bytes and time, and each target's position. */
export async function syncStatus(
  config: Config,
  options: SyncAdminOptions = {},
): Promise<SyncStatus> {
  const names = syncNames(config);
  const connectors = await openConnectors(config, options.deps);
  try {
    const source = await connectors.source.connect();
    let slot;
    let publications: { name: string; tables: number }[];
    let current: string;
    try {
      slot = await slotInfo(source, names.slot);
      const { rows } = await source.query<{ name: string; tables: string }>(
        `SELECT p.pubname AS name, count(t.tablename)::text AS tables
           FROM pg_publication p LEFT JOIN pg_publication_tables t ON t.pubname = p.pubname
          WHERE p.pubname = ANY ($1::text[]) GROUP BY p.pubname ORDER BY p.pubname`,
        [[names.publication, names.insertOnlyPublication]],
      );
      publications = rows.map((r) => ({ name: r.name, tables: Number(r.tables) }));
      const now = await source.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
      current = now.rows[0]?.lsn ?? '0/0';
    } finally {
      await source.end().catch(() => undefined);
    }
    const targets: TargetSyncStatus[] = [];
    for (const t of config.targets) {
      targets.push(
        await targetStatus(t.name, connectors.target(t.name), config, names.slot, current),
      );
    }
    return {
      slot: names.slot,
      exists: slot !== undefined,
      active: slot?.active ?? false,
      confirmedFlush: slot?.confirmedFlush ?? null,
      sourcePosition: current,
      heldBytes: slot?.heldBytes ?? 0,
      lagBytes: slot?.lagBytes ?? 0,
      publications,
      targets,
      warnings: slot ? slotWarnings(config, slot) : [],
    };
  } finally {
    await connectors.close();
  }
}

async function targetStatus(
  name: string,
  connector: { connect(): Promise<pg.Client> },
  config: Config,
  slot: string,
  current: string,
): Promise<TargetSyncStatus> {
  const none = {
    target: name,
    tables: 0,
    position: null,
    lagBytes: null,
    lastAppliedAt: null,
    lagSeconds: null,
  };
  let client: pg.Client | undefined;
  try {
    client = await connector.connect();
    const table = syncStateName(config.options.ledgerSchema);
    const { rows: found } = await client.query<{ ok: boolean }>(
      'SELECT to_regclass($1) IS NOT NULL AS ok',
      [table],
    );
    if (found[0]?.ok !== true) return none;
    const { rows } = await client.query<{
      tables: string;
      position: string | null;
      lag: string | null;
      at: Date | null;
      seconds: string | null;
    }>(
      `SELECT count(*)::text AS tables, min(applied_lsn)::text AS position,
              pg_wal_lsn_diff($2::pg_lsn, min(applied_lsn))::text AS lag,
              min(updated_at) AS at,
              extract(epoch FROM clock_timestamp() - min(updated_at))::text AS seconds
         FROM ${table} WHERE slot = $1`,
      [slot, current],
    );
    const row = rows[0];
    if (!row || row.position === null) return none;
    return {
      target: name,
      tables: Number(row.tables),
      position: row.position,
      lagBytes: Math.max(0, Number(row.lag ?? 0)),
      lastAppliedAt: row.at?.toISOString() ?? null,
      lagSeconds: row.seconds === null ? null : Math.max(0, Math.round(Number(row.seconds))),
    };
  } catch (error) {
    return { ...none, error: describeError(error) };
  } finally {
    await client?.end().catch(() => undefined);
  }
}

export interface DropOutcome {
  readonly slot: string;
  readonly slotDropped: boolean;
  readonly publicationsDropped: readonly string[];
  /** Targets whose positions of this slot were removed. */
  readonly targetsCleared: readonly string[];
}

/** `pgcopy sync --drop`: the slot and both publications go; the targets forget the slot's positions. */
export async function dropSync(
  config: Config,
  options: SyncAdminOptions = {},
): Promise<DropOutcome> {
  const names = syncNames(config);
  const connectors = await openConnectors(config, options.deps);
  try {
    const source = await connectors.source.connect();
    let slotDropped: boolean;
    let publicationsDropped: string[];
    try {
      slotDropped = await dropSlot(source, names.slot);
      publicationsDropped = await dropPublications(source, names);
    } finally {
      await source.end().catch(() => undefined);
    }
    const targetsCleared: string[] = [];
    for (const t of config.targets) {
      const client = await connectors
        .target(t.name)
        .connect()
        .catch(() => undefined);
      if (!client) continue;
      try {
        const table = syncStateName(config.options.ledgerSchema);
        const { rows } = await client.query<{ ok: boolean }>(
          'SELECT to_regclass($1) IS NOT NULL AS ok',
          [table],
        );
        if (rows[0]?.ok === true) {
          await client.query(forgetSlotSql(config.options.ledgerSchema, names.slot));
          targetsCleared.push(t.name);
        }
      } finally {
        await client.end().catch(() => undefined);
      }
    }
    return { slot: names.slot, slotDropped, publicationsDropped, targetsCleared };
  } finally {
    await connectors.close();
  }
}
