import type pg from 'pg';
import type { Config } from '../config/types.js';
import { describeError } from '../errors.js';
import type { EventListener } from '../report/events.js';
import type { WorkerConnections } from '../copy/worker-connections.js';
import { openLedger, type TargetLedger } from './target-ledger.js';

/** One target's ledger, readied on a worker's connection (kept for its tables). */
async function readyLedger(
  target: string,
  config: Config,
  runId: string,
  connections: WorkerConnections,
  signal: AbortSignal | undefined,
  withSourceLsn: boolean,
): Promise<TargetLedger> {
  const schema = config.options.ledgerSchema;
  if (!config.options.ledger) {
    return { available: false, schema, reason: 'turned off (options.ledger: false)' };
  }
  let client: pg.Client | undefined;
  let usable = false;
  try {
    client = await connections.targetClient(target, signal ? { signal } : {});
    const ledger = await openLedger(client, {
      schema,
      runId,
      keepDays: config.options.ledgerKeepDays,
      withSourceLsn,
    });
    usable = true;
    return ledger;
  } catch (error) {
    return { available: false, schema, reason: describeError(error) };
  } finally {
    if (client) await connections.release(client, usable);
  }
}

/**
 * Each written target's ledger, readied before any table starts (made on first use, old rows
 * removed, this run id's rows read), on a worker's connections. A target without one (turned off,
 * the role may not create it, the target is unreachable) is reported by a `ledger` event and
 * copied as before: a re-run cannot tell there what this run committed.
 */
export async function openLedgers(
  targets: readonly string[],
  config: Config,
  runId: string,
  connections: WorkerConnections,
  events: { emit: EventListener; now: () => Date; signal?: AbortSignal | undefined },
  /** pgcopy sync's first copy records the slot position with each pair (source_lsn). */
  withSourceLsn = false,
): Promise<Map<string, TargetLedger>> {
  const ledgers = new Map<string, TargetLedger>();
  for (const target of targets) {
    const ledger = await readyLedger(
      target,
      config,
      runId,
      connections,
      events.signal,
      withSourceLsn,
    );
    ledgers.set(target, ledger);
    events.emit({
      type: 'ledger',
      at: events.now().toISOString(),
      target,
      schema: ledger.schema,
      available: ledger.available,
      committed: ledger.available ? ledger.committed.length : 0,
      pruned: ledger.available ? ledger.pruned : 0,
      ...(ledger.available ? {} : { reason: ledger.reason }),
    });
  }
  return ledgers;
}
