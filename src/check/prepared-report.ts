import type pg from 'pg';
import { countPrepared, readPreparedLocks } from '../db/prepared-locks.js';
import {
  loadLockOf,
  preparedName,
  preparedPlans,
  waitLimit,
  type PreparedPlan,
} from '../plan/prepared-waits.js';
import { quoteLiteral } from '../db/quote.js';
import type { EndpointNeeds } from './needs.js';

/** A target database's prepared transactions, as `pgcopy check` reports them. */
export interface PreparedReport {
  /** Prepared in the database (any table, any owner). */
  readonly total: number;
  /** Of those, pgcopy's own (settled by its next run). */
  readonly pgcopy: number;
  /** Those holding a lock on a checked table, with what its load would do. */
  readonly locking: readonly PreparedPlan[];
  /** The target's lockTimeout: how long the run waits for one of them. */
  readonly lockTimeoutMs?: number;
  /** Someone else's, holding a lock a table's load waits for as soon as it takes its own. */
  readonly problems: readonly string[];
}

/**
 * The target's prepared transactions, and a problem for each of someone else's that a table's
 * load would wait for as soon as it locks the table (TRUNCATE needs ACCESS EXCLUSIVE: any lock).
 */
export async function preparedReport(
  client: pg.ClientBase,
  needs: EndpointNeeds,
  lockTimeoutMs: number | undefined,
): Promise<PreparedReport> {
  const counts = await countPrepared(client);
  const truncated = new Set(
    needs.tables.filter((t) => t.privileges.includes('TRUNCATE')).map((t) => t.table),
  );
  const locking =
    counts.total === 0
      ? []
      : preparedPlans(
          await readPreparedLocks(
            client,
            needs.schema,
            needs.tables.map((t) => t.table),
          ),
          (table) => loadLockOf(truncated.has(table) ? 'truncate' : 'append', false),
        );
  const problems = locking
    .filter((p) => !p.leftByPgcopy)
    .flatMap((p) =>
      p.tables
        .filter((t) => t.waits === 'table')
        .map(
          (t) =>
            `${preparedName(p)} holds ${t.modes.join(', ')} on ${needs.schema}.${t.table}: its load waits for it ${waitLimit(lockTimeoutMs)}; an administrator ends it with COMMIT PREPARED or ROLLBACK PREPARED ${quoteLiteral(p.gid)}`,
        ),
    );
  return {
    ...counts,
    locking,
    ...(lockTimeoutMs === undefined ? {} : { lockTimeoutMs }),
    problems,
  };
}
