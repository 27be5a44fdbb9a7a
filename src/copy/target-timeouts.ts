import type pg from 'pg';
import type { Timeouts } from '../config/timeouts.js';
import { sqlstateOf } from '../errors.js';
import { pairName, type TablePlan } from '../plan/types.js';
import { targetName } from './sql.js';
import {
  holderOf,
  PREPARED_FIELDS_SQL,
  PREPARED_LOCKS_SQL,
  type HolderRow,
} from '../db/lock-holders.js';
import { holderPhrase } from '../report/audit-lines.js';

/**
 * SET statements for a target copy session, after SESSION_SETTINGS_SQL (which clears
 * statement_timeout); the values are validated integers, never text.
 */
export function timeoutSql(timeouts: Timeouts): string | undefined {
  const sets: string[] = [];
  const ms = (n: number): string => String(Math.trunc(n));
  if (timeouts.lockTimeoutMs !== undefined)
    sets.push(`SET lock_timeout = ${ms(timeouts.lockTimeoutMs)}`);
  if (timeouts.statementTimeoutMs !== undefined)
    sets.push(`SET statement_timeout = ${ms(timeouts.statementTimeoutMs)}`);
  return sets.length > 0 ? sets.join('; ') : undefined;
}

/**
 * A lock timeout (55P03) restated with the table it waited for and the sessions holding a lock on
 * it, read after the ROLLBACK on the same session (the holders usually still hold it). A prepared
 * transaction is named by its gid: it holds its locks with no session at all. A statement that
 * locks several tables (a truncate group's TRUNCATE) names the first of `plans` someone holds.
 */
export async function explainLockTimeout(
  error: unknown,
  target: pg.Client | undefined,
  plans: TablePlan | readonly TablePlan[],
  timeouts: Timeouts,
): Promise<unknown> {
  const tables: readonly TablePlan[] = 'targetTable' in plans ? [plans] : plans;
  const [first] = tables;
  if (sqlstateOf(error) !== '55P03' || !target || !first) return error;
  let holders: (HolderRow & { mode: string; ord: number })[] = [];
  try {
    const result = await target.query<HolderRow & { mode: string; ord: number }>(
      `SELECT coalesce(h.pid, 0) AS pid, coalesce(a.usename::text, p.owner::text, '') AS user,
              coalesce(a.application_name, '') AS application,
              coalesce(a.state, CASE WHEN p.gid IS NOT NULL THEN 'prepared' END, '') AS state,
              h.mode, ${PREPARED_FIELDS_SQL}, t.ord::int AS ord
         FROM unnest($1::text[]) WITH ORDINALITY AS t(name, ord)
         JOIN pg_catalog.pg_locks h ON h.relation = pg_catalog.to_regclass(t.name)
         LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = h.pid
         LEFT JOIN pg_catalog.pg_prepared_xacts p ON ${PREPARED_LOCKS_SQL}
        WHERE h.granted AND (h.pid <> pg_catalog.pg_backend_pid() OR p.gid IS NOT NULL)
        ORDER BY t.ord, 1, p.gid`,
      [tables.map(targetName)],
    );
    // The first table anyone holds: the statement took the tables in this order.
    const ord = result.rows[0]?.ord;
    holders = result.rows.filter((r) => r.ord === ord);
  } catch {
    // The session is gone too: say what is known.
  }
  const held = tables[(holders[0]?.ord ?? 1) - 1] ?? first;
  const who =
    holders.length === 0
      ? 'held by another session'
      : `held by ${holders.map((h) => holderPhrase(holderOf(h), h.mode)).join(', ')}`;
  const waited =
    timeouts.lockTimeoutMs === undefined ? '' : ` within lock_timeout ${timeouts.lockTimeoutMs} ms`;
  return Object.assign(
    new Error(`lock timeout: ${pairName(held)} could not be locked${waited}: ${who}`, {
      cause: error,
    }),
    { code: '55P03' },
  );
}
