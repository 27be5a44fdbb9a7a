import type pg from 'pg';
import type { TargetLedger } from '../../ledger/target-ledger.js';
import type { EventListener } from '../../report/events.js';
import type { WorkerConnections } from '../worker-connections.js';
import { GID_PREFIX, settlePrepared } from './prepared.js';

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
      const settled = await settlePrepared(
        client,
        GID_PREFIX,
        ledger?.available ? ledger.schema : undefined,
      );
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
