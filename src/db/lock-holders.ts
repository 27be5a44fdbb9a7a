import type pg from 'pg';
import type { LockHolder } from '../report/events.js';

/**
 * PostgreSQL's lock conflict table: the modes each mode conflicts with (the same for every kind of
 * lockable object; advisory and transaction locks use Share and Exclusive).
 */
const CONFLICTS_SQL = `(VALUES
  ('AccessShareLock', '{AccessExclusiveLock}'::text[]),
  ('RowShareLock', '{ExclusiveLock,AccessExclusiveLock}'),
  ('RowExclusiveLock', '{ShareLock,ShareRowExclusiveLock,ExclusiveLock,AccessExclusiveLock}'),
  ('ShareUpdateExclusiveLock',
   '{ShareUpdateExclusiveLock,ShareLock,ShareRowExclusiveLock,ExclusiveLock,AccessExclusiveLock}'),
  ('ShareLock', '{RowExclusiveLock,ShareUpdateExclusiveLock,ShareRowExclusiveLock,ExclusiveLock,AccessExclusiveLock}'),
  ('ShareRowExclusiveLock',
   '{RowExclusiveLock,ShareUpdateExclusiveLock,ShareLock,ShareRowExclusiveLock,ExclusiveLock,AccessExclusiveLock}'),
  ('ExclusiveLock',
   '{RowShareLock,RowExclusiveLock,ShareUpdateExclusiveLock,ShareLock,ShareRowExclusiveLock,ExclusiveLock,AccessExclusiveLock}'),
  ('AccessExclusiveLock',
   '{AccessShareLock,RowShareLock,RowExclusiveLock,ShareUpdateExclusiveLock,ShareLock,ShareRowExclusiveLock,ExclusiveLock,AccessExclusiveLock}')
) AS c(mode, conflicts)`;

/** The same lockable object in two pg_locks rows `w` and `h`. */
const SAME_OBJECT_SQL = ['database', 'relation', 'page', 'tuple', 'virtualxid', 'transactionid']
  .concat(['classid', 'objid', 'objsubid'])
  .map((field) => `h.${field} IS NOT DISTINCT FROM w.${field}`)
  .join(' AND ');

/**
 * The locks `h` of prepared transaction `p`: they belong to no backend (a null pid in pg_locks, pid
 * 0 in pg_blocking_pids) and share the virtual transaction of the lock on its own transaction id
 * (whose text differs between versions).
 */
export const PREPARED_LOCKS_SQL = `h.pid IS NULL AND h.virtualtransaction =
  (SELECT x.virtualtransaction FROM pg_catalog.pg_locks x
    WHERE x.pid IS NULL AND x.locktype = 'transactionid' AND x.transactionid = p.transaction LIMIT 1)`;

/** The prepared transaction's fields of a LockHolder, from pg_prepared_xacts `p`. */
export const PREPARED_FIELDS_SQL = `p.gid, p.database::text AS database,
  to_char(p.prepared AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS prepared_at,
  floor(extract(epoch FROM pg_catalog.now() - p.prepared))::int AS prepared_seconds`;

/**
 * The sessions blocking backend $1 (pg_blocking_pids), and the prepared transactions among its
 * blockers (pid 0 there): those holding a lock, in a conflicting mode, on the object it waits for.
 */
const BLOCKERS_SQL = `
WITH blocking AS (SELECT pg_catalog.pg_blocking_pids($1) AS pids,
                         (SELECT w.locktype FROM pg_catalog.pg_locks w
                           WHERE w.pid = $1 AND NOT w.granted LIMIT 1) AS awaited)
SELECT b.awaited, a.pid, coalesce(a.usename::text, '') AS user, coalesce(a.application_name, '') AS application,
       coalesce(a.state, '') AS state, NULL AS gid, NULL AS database, NULL AS prepared_at,
       NULL::int AS prepared_seconds
  FROM blocking b JOIN pg_catalog.pg_stat_activity a ON a.pid = ANY (b.pids)
UNION ALL
SELECT b.awaited, 0, p.owner::text, '', 'prepared', ${PREPARED_FIELDS_SQL}
  FROM blocking b JOIN pg_catalog.pg_prepared_xacts p ON 0 = ANY (b.pids)
 WHERE true
   AND EXISTS (SELECT FROM pg_catalog.pg_locks w
                 JOIN pg_catalog.pg_locks h ON h.locktype = w.locktype AND ${SAME_OBJECT_SQL}
                 JOIN ${CONFLICTS_SQL} ON c.mode = w.mode
                WHERE w.pid = $1 AND NOT w.granted AND h.granted AND h.mode = ANY (c.conflicts)
                  AND ${PREPARED_LOCKS_SQL})
ORDER BY 2, 6`;

/** A row of BLOCKERS_SQL (or of a query selecting PREPARED_FIELDS_SQL beside a session's). */
export interface HolderRow {
  readonly pid: number;
  readonly user: string;
  readonly application: string;
  readonly state: string;
  readonly gid: string | null;
  readonly database: string | null;
  readonly prepared_at: string | null;
  readonly prepared_seconds: number | null;
}

export function holderOf(row: HolderRow): LockHolder {
  const holder = { pid: row.pid, user: row.user, application: row.application, state: row.state };
  if (row.gid === null) return holder;
  return {
    ...holder,
    prepared: {
      gid: row.gid,
      database: row.database ?? '',
      preparedAt: row.prepared_at ?? '',
      seconds: row.prepared_seconds ?? 0,
    },
  };
}

/** What a backend waits for, and who holds it. */
export interface LockWait {
  /** pg_locks.locktype of the lock it waits for (`transactionid`: another transaction's end). */
  readonly awaited: string | undefined;
  readonly holders: readonly LockHolder[];
}

/** Who holds the locks backend `pid` waits for: sessions, and prepared transactions by name. */
export async function lockWait(client: pg.ClientBase, pid: number): Promise<LockWait> {
  const { rows } = await client.query<HolderRow & { awaited: string | null }>(BLOCKERS_SQL, [pid]);
  return { awaited: rows[0]?.awaited ?? undefined, holders: rows.map(holderOf) };
}
