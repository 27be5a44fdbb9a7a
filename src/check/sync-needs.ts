import type pg from 'pg';
import type { Config } from '../config/types.js';
import { hasUsableIdentity, readReplicaIdentities } from '../plan/sync-rules.js';
import { syncNames } from '../sync/names.js';
import { slotInfo } from '../sync/slot.js';
import { slotWarnings } from '../sync/slot-warnings.js';

/** What `pgcopy sync` needs of the source, as `check` reports it. */
export interface SyncNeedsReport {
  readonly slot: string;
  /** The slot exists already (a first sync was made). */
  readonly slotExists: boolean;
  /** What is missing for sync: wal_level, the REPLICATION attribute, a free slot, rights. */
  readonly missing: readonly string[];
  /** The slot holds more WAL than options.sync.maxSlotWal. */
  readonly warnings: readonly string[];
}

/**
 * wal_level = logical, the REPLICATION attribute (or RDS's rds_replication role), a free slot and a
 * WAL sender, the right to create the publications and to add each followed table to one (its
 * owner), and a replica identity on every table not followed insert-only.
 */
export async function checkSyncNeeds(
  client: pg.ClientBase,
  config: Config,
): Promise<SyncNeedsReport> {
  const names = syncNames(config);
  const missing: string[] = [];
  const { rows: settings } = await client.query<{
    wal_level: string;
    slots: string;
    senders: string;
    used: string;
    replication: boolean;
    create: boolean;
  }>(
    `SELECT current_setting('wal_level') AS wal_level,
            current_setting('max_replication_slots') AS slots,
            current_setting('max_wal_senders') AS senders,
            (SELECT count(*) FROM pg_replication_slots)::text AS used,
            (SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user)
              OR coalesce((SELECT pg_has_role(current_user, oid, 'MEMBER') FROM pg_roles
                            WHERE rolname = 'rds_replication'), false) AS replication,
            has_database_privilege(current_database(), 'CREATE') AS create`,
  );
  const s = settings[0];
  const slot = await slotInfo(client, names.slot);
  if (s) {
    if (s.wal_level !== 'logical') {
      missing.push(
        `wal_level = logical (it is ${s.wal_level}; set it and restart the server; on RDS: rds.logical_replication = 1)`,
      );
    }
    if (!s.replication) {
      missing.push(
        'the REPLICATION attribute (ALTER ROLE ... REPLICATION; on RDS: GRANT rds_replication)',
      );
    }
    if (!slot && Number(s.used) >= Number(s.slots)) {
      missing.push(`a free replication slot (max_replication_slots = ${s.slots}, all in use)`);
    }
    if (Number(s.senders) < 1) missing.push('a WAL sender (max_wal_senders = 0)');
    const { rows: pubs } = await client.query<{ n: string }>(
      'SELECT count(*)::text AS n FROM pg_publication WHERE pubname = ANY ($1::text[])',
      [[names.publication, names.insertOnlyPublication]],
    );
    if (!s.create && Number(pubs[0]?.n ?? 0) < 2) {
      missing.push('CREATE on the database (to create the publications)');
    }
  }
  const tables = [...new Set(config.targets.flatMap((t) => t.tables.map((x) => x.source)))];
  const schema = config.source.schema;
  const { rows: owners } = await client.query<{ relname: string; owner: boolean }>(
    `SELECT c.relname, pg_has_role(c.relowner, 'USAGE') AS owner
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = ANY ($2::text[])`,
    [schema, tables],
  );
  const notOwned = owners.filter((o) => !o.owner).map((o) => `${schema}.${o.relname}`);
  if (notOwned.length > 0) {
    missing.push(
      `ownership of ${notOwned.join(', ')} (a table is added to a publication by its owner)`,
    );
  }
  const identities = await readReplicaIdentities(client, schema, tables);
  const insertOnly = config.options.sync?.insertOnly ?? [];
  for (const table of tables) {
    if (insertOnly.includes(table) || hasUsableIdentity(identities.get(table))) continue;
    missing.push(
      `a primary key or replica identity on ${schema}.${table} (or REPLICA IDENTITY FULL, or options.sync.insertOnly)`,
    );
  }
  return {
    slot: names.slot,
    slotExists: slot !== undefined,
    missing,
    warnings: slot ? slotWarnings(config, slot) : [],
  };
}
