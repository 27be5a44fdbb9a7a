import type { Connectors } from '../db/connectors.js';
import { endClient } from '../db/end-client.js';
import { describeError } from '../errors.js';
import { ledgerName } from './ledger-sql.js';
import { probeLedger, type TargetLedgerAccess } from './probe-ledger.js';

/** Each named target's ledger access, read on a connection of its own (plan and check). */
export async function probeTargets(
  connectors: Connectors,
  targets: readonly string[],
  schema: string,
  signal?: AbortSignal,
): Promise<TargetLedgerAccess[]> {
  const ledger = ledgerName(schema);
  return Promise.all(
    targets.map(async (target): Promise<TargetLedgerAccess> => {
      try {
        const client = await connectors.target(target).connect(signal ? { signal } : {});
        try {
          return { target, ledger, ...(await probeLedger(client, schema)) };
        } finally {
          await endClient(client);
        }
      } catch (error) {
        return { target, ledger, state: 'not checked', reason: describeError(error) };
      }
    }),
  );
}
