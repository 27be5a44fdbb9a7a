import type pg from 'pg';
import type { Plan } from '../../plan/types.js';
import type { EventListener } from '../../report/events.js';
import type { WorkerConnections } from '../worker-connections.js';
import { GID_PREFIX, settlePrepared } from './prepared.js';

/**
 * Before a run splits tables on a target, finishes the prepared parts an earlier run left there
 * (pgcopy ended between PREPARE and COMMIT PREPARED): they hold their locks until then, and each
 * is finished as its table's first part ended. Reported through a `prepared-settled` event.
 * Goes through a worker's connections (kept for its tables), so it opens no connection of its own.
 */
export async function settleLeftovers(
  plan: Plan,
  connections: WorkerConnections,
  emit: EventListener,
  now: () => Date,
  options: { signal?: AbortSignal } = {},
): Promise<void> {
  const splitting = plan.targets.filter((t) =>
    t.tables.some((table) => (table.split?.parts ?? 1) > 1),
  );
  for (const target of splitting) {
    let client: pg.Client | undefined;
    let usable = false;
    try {
      client = await connections.targetClient(target.name, options);
      const settled = await settlePrepared(client, GID_PREFIX);
      usable = true;
      const found = settled.committed.length + settled.rolledBack.length + settled.pending.length;
      if (found > 0) {
        emit({
          type: 'prepared-settled',
          at: now().toISOString(),
          target: target.name,
          ...settled,
        });
      }
    } catch {
      // A courtesy to the tables that follow (an unreachable target, another role's leftovers):
      // they fail on their own, with their own error, if it mattered.
    } finally {
      if (client) await connections.release(client, usable);
    }
  }
}
