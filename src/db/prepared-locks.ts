import type pg from 'pg';
import { PREPARED_FIELDS_SQL, PREPARED_LOCKS_SQL, type HolderRow } from './lock-holders.js';

/**
 * The prepared transactions of the connected database that hold locks on given tables, as `plan`
 * and `check` list them. A prepared transaction outlives its session: its locks stay in pg_locks
 * with no pid until someone runs COMMIT PREPARED or ROLLBACK PREPARED.
 */

/** pgcopy names the parts of a split table's commit `pgcopy_<run>_x<xid>_<table>_<part>`. */
export const PGCOPY_GID_PREFIX = 'pgcopy_';

/** The locks one prepared transaction holds on one of the tables asked about. */
export interface PreparedTableLock {
  readonly table: string;
  /** pg_locks.mode, each once (on the table or an inheritance child or partition of it). */
  readonly modes: readonly string[];
}

/** A prepared transaction holding locks on some of the tables asked about. */
export interface PreparedLocks {
  readonly gid: string;
  readonly owner: string;
  readonly database: string;
  /** When it was prepared, ISO 8601 in UTC. */
  readonly preparedAt: string;
  /** How long ago, in whole seconds. */
  readonly seconds: number;
  /** Its GID is pgcopy's (a split table's part left by an earlier run). */
  readonly leftByPgcopy: boolean;
  readonly tables: readonly PreparedTableLock[];
}

/** The prepared transactions of the database and the tables among `tables` (or their children) they lock. */
const PREPARED_TABLE_LOCKS_SQL = `
WITH RECURSIVE planned AS (
  SELECT c.oid, c.relname::text AS planned
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = $1 AND c.relname = ANY ($2::text[])
  UNION
  SELECT i.inhrelid, planned.planned
    FROM pg_catalog.pg_inherits i JOIN planned ON planned.oid = i.inhparent
)
SELECT ${PREPARED_FIELDS_SQL}, p.owner::text AS user, planned.planned,
       array_agg(DISTINCT h.mode::text ORDER BY h.mode::text) AS modes
  FROM pg_catalog.pg_prepared_xacts p
  JOIN pg_catalog.pg_locks h ON ${PREPARED_LOCKS_SQL}
   AND h.locktype = 'relation'
   AND h.database = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database())
  JOIN planned ON planned.oid = h.relation
 WHERE p.database = pg_catalog.current_database()
 GROUP BY p.gid, p.database, p.prepared, p.owner, planned.planned
 ORDER BY p.prepared, p.gid, planned.planned`;

type Row = Pick<HolderRow, 'user' | 'gid' | 'database' | 'prepared_at' | 'prepared_seconds'> & {
  readonly planned: string;
  readonly modes: string[];
};

/**
 * The prepared transactions of the connected database holding a lock on one of `tables` of
 * `schema` (or on an inheritance child or partition of one), oldest first.
 */
export async function readPreparedLocks(
  client: pg.ClientBase,
  schema: string,
  tables: readonly string[],
): Promise<PreparedLocks[]> {
  const { rows } = await client.query<Row>(PREPARED_TABLE_LOCKS_SQL, [schema, [...tables]]);
  const byGid = new Map<
    string,
    { fields: Omit<PreparedLocks, 'tables'>; tables: PreparedTableLock[] }
  >();
  for (const row of rows) {
    const gid = row.gid ?? '';
    let entry = byGid.get(gid);
    if (!entry) {
      entry = {
        fields: {
          gid,
          owner: row.user,
          database: row.database ?? '',
          preparedAt: row.prepared_at ?? '',
          seconds: row.prepared_seconds ?? 0,
          leftByPgcopy: gid.startsWith(PGCOPY_GID_PREFIX),
        },
        tables: [],
      };
      byGid.set(gid, entry);
    }
    entry.tables.push({ table: row.planned, modes: row.modes });
  }
  return [...byGid.values()].map((e) => ({ ...e.fields, tables: e.tables }));
}

/** How many transactions are prepared in the connected database, and how many of them are pgcopy's. */
export async function countPrepared(
  client: pg.ClientBase,
): Promise<{ readonly total: number; readonly pgcopy: number }> {
  const { rows } = await client.query<{ total: number; pgcopy: number }>(
    `SELECT count(*)::int AS total, count(*) FILTER (WHERE left(gid, length($1)) = $1)::int AS pgcopy
       FROM pg_catalog.pg_prepared_xacts WHERE database = pg_catalog.current_database()`,
    [PGCOPY_GID_PREFIX],
  );
  return rows[0] ?? { total: 0, pgcopy: 0 };
}
