import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import type { TargetLedger } from '../../ledger/target-ledger.js';
import type { EventListener } from '../../report/events.js';
import type { WorkerConnections } from '../worker-connections.js';
import { GID_PREFIX, settlePrepared } from './prepared.js';

/** How long a leftover whose first part is still in progress is waited for, and how often looked at. */
const PENDING_WAIT_MS = 5_000;
const PENDING_POLL_MS = 200;

/**
 * Before any table starts, finishes the prepared parts an earlier run left on each target the run
 * writes (pgcopy ended between PREPARE and COMMIT PREPARED), whatever this run's mode or splits:
 * they hold their locks until then. Each is finished as its table ended: committed when the
 * target's ledger names it (or its first part committed), rolled back when that part aborted.
 * Reported through a `prepared-settled` event. Goes through a worker's connections (kept for its
 * tables), so it opens no connection of its own.
 */
export async function settleLeftovers(
  targets: readonly string[],
  ledgers: ReadonlyMap<string, TargetLedger>,
  connections: WorkerConnections,
  emit: EventListener,
  now: () => Date,
  options: { signal?: AbortSignal } = {},
): Promise<void> {
  for (const target of targets) {
    let client: pg.Client | undefined;
    let usable = false;
    try {
      client = await connections.targetClient(target, options);
      const ledger = ledgers.get(target);
      const schema = ledger?.available ? ledger.schema : undefined;
      let settled = await settlePrepared(client, GID_PREFIX, schema);
      // A first part still in progress may belong to a process that has just died (its server
      // session ends a moment later, rolling it back): looked at again for a few seconds.
      for (let waited = 0; settled.pending.length > 0 && waited < PENDING_WAIT_MS;) {
        await sleep(PENDING_POLL_MS, undefined, options.signal ? { signal: options.signal } : {});
        waited += PENDING_POLL_MS;
        const again = await settlePrepared(client, GID_PREFIX, schema);
        settled = {
          committed: [...settled.committed, ...again.committed],
          rolledBack: [...settled.rolledBack, ...again.rolledBack],
          pending: again.pending,
        };
      }
      usable = true;
      const found = settled.committed.length + settled.rolledBack.length + settled.pending.length;
      if (found > 0) {
        emit({ type: 'prepared-settled', at: now().toISOString(), target, ...settled });
      }
    } catch {
      // A courtesy to the tables that follow (an unreachable target, another role's leftovers):
      // they fail on their own, with their own error, if it mattered.
    } finally {
      if (client) await connections.release(client, usable);
    }
  }
}
