import type { Connectors } from '../../db/connectors.js';
import { endClient } from '../../db/end-client.js';
import type { Plan } from '../../plan/types.js';
import type { EventListener } from '../../report/events.js';
import { GID_PREFIX, settlePrepared } from './prepared.js';

/**
 * Before a run splits tables on a target, finishes the prepared parts an earlier run left there
 * (pgcopy ended between PREPARE and COMMIT PREPARED): they hold their locks until then, and each
 * is finished as its table's first part ended. Reported through a `prepared-settled` event.
 */
export async function settleLeftovers(
  plan: Plan,
  connectors: Connectors,
  emit: EventListener,
  now: () => Date,
  options: { signal?: AbortSignal } = {},
): Promise<void> {
  const splitting = plan.targets.filter((t) =>
    t.tables.some((table) => (table.split?.parts ?? 1) > 1),
  );
  // A target that cannot be reached now fails its own tables when they start.
  await Promise.allSettled(
    splitting.map(async (target) => {
      const client = await connectors.target(target.name).connect(options);
      try {
        const settled = await settlePrepared(client, GID_PREFIX);
        const found = settled.committed.length + settled.rolledBack.length + settled.pending.length;
        if (found > 0) {
          emit({
            type: 'prepared-settled',
            at: now().toISOString(),
            target: target.name,
            ...settled,
          });
        }
      } finally {
        await endClient(client);
      }
    }),
  );
}
