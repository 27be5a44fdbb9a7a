import type pg from 'pg';
import type { Timeouts } from '../config/timeouts.js';
import { sqlstateOf } from '../errors.js';
import { pairName, type TablePlan } from '../plan/types.js';
import { targetName } from './sql.js';

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

interface Holder {
  pid: number;
  application_name: string;
  usename: string;
  state: string;
  mode: string;
}

/**
 * A lock timeout (55P03) restated with the table it waited for and the sessions holding a lock on
 * it, read after the ROLLBACK on the same session (the holders usually still hold it).
 */
export async function explainLockTimeout(
  error: unknown,
  target: pg.Client | undefined,
  plan: TablePlan,
  timeouts: Timeouts,
): Promise<unknown> {
  if (sqlstateOf(error) !== '55P03' || !target) return error;
  let holders: Holder[] = [];
  try {
    const result = await target.query<Holder>(
      `SELECT l.pid, coalesce(a.application_name, '') AS application_name,
              coalesce(a.usename::text, '') AS usename, coalesce(a.state, '') AS state, l.mode
         FROM pg_catalog.pg_locks l LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
        WHERE l.granted AND l.relation = to_regclass($1) AND l.pid <> pg_backend_pid()
        ORDER BY l.pid`,
      [targetName(plan)],
    );
    holders = result.rows;
  } catch {
    // The session is gone too: say what is known.
  }
  const who =
    holders.length === 0
      ? 'held by another session'
      : `held by ${holders
          .map(
            (h) =>
              `pid ${h.pid} (${h.mode}, user ${h.usename}, application "${h.application_name}", ${h.state})`,
          )
          .join(', ')}`;
  const waited =
    timeouts.lockTimeoutMs === undefined ? '' : ` within lock_timeout ${timeouts.lockTimeoutMs} ms`;
  return Object.assign(
    new Error(`lock timeout: ${pairName(plan)} could not be locked${waited}: ${who}`, {
      cause: error,
    }),
    { code: '55P03' },
  );
}
