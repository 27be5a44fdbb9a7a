import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import type { Config } from '../config/types.js';
import type { Plan, TablePlan } from '../plan/types.js';
import { formatLsn, parseLsn } from './lsn.js';
import { mappingsFor } from './mappings.js';
import type { SyncNames } from './names.js';
import { lowestPosition, movePositions } from './positions.js';
import { advanceSlot, readSlot } from './read-slot.js';
import { readPositions } from './sync-state.js';
import { FanOutSink } from './fan-out-sink.js';
import { TargetApplier, type ApplierBatch } from './target-applier.js';
import { addCounts, zeroCounts } from './applied-counts.js';
import type { AppliedCounts, Lsn, TableMapping } from './types.js';
import type { SyncEvent } from './sync.js';

/** What one target applied over the whole catch-up, and where it stands. */
export interface TargetProgress {
  readonly applied: AppliedCounts;
  readonly position: Lsn | undefined;
}

export interface CatchUpTarget {
  readonly name: string;
  readonly client: pg.Client;
  readonly pairs: readonly TablePlan[];
}

export interface CatchUpInput {
  readonly source: pg.Client;
  readonly names: SyncNames;
  readonly plan: Plan;
  readonly config: Config;
  readonly targets: readonly CatchUpTarget[];
  /** Read up to here (undefined: --follow, each read up to the source's position then). */
  readonly until: Lsn | undefined;
  readonly follow: boolean;
  readonly pollIntervalMs: number;
  /** The appliers' batch limits (their defaults when absent). */
  readonly batch?: ApplierBatch;
  /** Once aborted: the transaction being applied is finished, then the catch-up ends. */
  readonly stop: AbortSignal;
  readonly emit: (event: SyncEvent) => void;
  readonly now: () => Date;
}

/**
 * Reads the slot (from its confirmed position: each target skips what it has applied) and applies
 * each source transaction to every target, in rounds: each round reads up to a position, commits
 * every target, moves every followed table's position to what the round covered, then moves the
 * slot to the lowest position of all. With `follow`, rounds go on until `stop`.
 */
export async function catchUp(input: CatchUpInput): Promise<{
  stopped: boolean;
  targets: Map<string, TargetProgress>;
}> {
  const { source, names, stop } = input;
  const ledgerSchema = input.config.options.ledgerSchema;
  const insertOnly = input.config.options.sync?.insertOnly ?? [];
  const totals = new Map(input.targets.map((t) => [t.name, zeroCounts()] as const));
  const mappings = new Map<string, TableMapping[]>(
    input.targets.map((t) => [
      t.name,
      mappingsFor(input.plan, t.name, { insertOnly: (p) => insertOnly.includes(p.sourceTable) }),
    ]),
  );
  let read = 0;
  while (!stop.aborted) {
    const upto = input.until ?? (await currentLsn(source));
    // The slot is read up to what the source has flushed: wait until that reaches `upto`, so
    // that a read which ends has seen every transaction committed before it.
    const flushed = await flushedUpTo(source, upto, stop);
    const appliers = await Promise.all(
      input.targets.map(
        async (t) =>
          new TargetApplier({
            client: t.client,
            slot: names.slot,
            ledgerSchema,
            mappings: mappings.get(t.name) ?? [],
            targetName: t.name,
            ...(input.batch ? { batch: input.batch } : {}),
            positions: await readPositions(t.client, ledgerSchema, names.slot),
          }),
      ),
    );
    const sink = new FanOutSink(appliers, (commit) => {
      read += 1;
      input.emit({
        type: 'sync-progress',
        at: input.now().toISOString(),
        transactions: read,
        lsn: formatLsn(commit.endLsn),
      });
    });
    let result: Awaited<ReturnType<typeof readSlot>>;
    try {
      stop.throwIfAborted();
      result = await readSlot(
        source,
        {
          slot: names.slot,
          publications: [names.publication, names.insertOnlyPublication],
          upto,
          signal: stop,
        },
        sink,
      );
    } catch (error) {
      // A failed read or target: nothing half-applied stays; the next sync reads it again.
      for (const applier of appliers) await applier.discard().catch(() => undefined);
      // Stopped before the read began: as if it had read nothing.
      if (!stopRequested(stop) || error !== stop.reason) throw error;
      result = { transactions: 0, lastEndLsn: undefined, stopped: true };
    }
    // What was read whole is committed on every target.
    for (const applier of appliers) await applier.finish();
    for (const [i, applier] of appliers.entries()) {
      const target = input.targets[i];
      if (target) addCounts(totals.get(target.name) ?? zeroCounts(), applier.counts);
    }
    // A read that ran to its end covered everything up to `upto`; a stopped one up to its last
    // transaction. Tables no transaction touched have all their changes up to there too.
    const covered = result.stopped ? result.lastEndLsn : flushed < upto ? flushed : upto;
    if (covered !== undefined) {
      for (const t of input.targets) {
        await movePositions(t.client, ledgerSchema, names.slot, t.pairs, covered);
      }
    }
    await advanceToLowest(input);
    if (result.stopped || !input.follow) break;
    if (result.transactions === 0) {
      await sleep(input.pollIntervalMs, undefined, { signal: stop }).catch(() => undefined);
    }
  }
  const targets = new Map<string, TargetProgress>();
  for (const t of input.targets) {
    const positions = await readPositions(t.client, ledgerSchema, names.slot);
    targets.set(t.name, {
      applied: totals.get(t.name) ?? zeroCounts(),
      position: lowestPosition(positions, t.pairs),
    });
  }
  return { stopped: stop.aborted, targets };
}

/**
 * Waits (a few seconds at most) until the source's WAL is flushed up to `lsn`; returns the
 * flushed position seen last (a read covers no further than that).
 */
async function flushedUpTo(source: pg.ClientBase, lsn: Lsn, stop: AbortSignal): Promise<Lsn> {
  for (let waited = 0; ; waited += 50) {
    const { rows } = await source.query<{ lsn: string }>(
      'SELECT pg_current_wal_flush_lsn()::text AS lsn',
    );
    const flushed = parseLsn(rows[0]?.lsn ?? '0/0');
    if (flushed >= lsn || waited >= 10_000 || stop.aborted) return flushed;
    await sleep(50);
  }
}

/** Read afresh (a signal's `aborted` changes under the code that looked at it before). */
function stopRequested(stop: AbortSignal): boolean {
  return stop.aborted;
}

async function currentLsn(source: pg.ClientBase): Promise<Lsn> {
  // The insert position: a commit still in the WAL buffers (synchronous_commit = off) is in it.
  const { rows } = await source.query<{ lsn: string }>(
    'SELECT pg_current_wal_insert_lsn()::text AS lsn',
  );
  return parseLsn(rows[0]?.lsn ?? '0/0');
}

/** The slot moves to the lowest position any followed table of any target has (never back). */
async function advanceToLowest(input: CatchUpInput): Promise<void> {
  let lowest: Lsn | undefined;
  for (const t of input.targets) {
    const positions = await readPositions(
      t.client,
      input.config.options.ledgerSchema,
      input.names.slot,
    );
    const at = lowestPosition(positions, t.pairs);
    if (at !== undefined && (lowest === undefined || at < lowest)) lowest = at;
  }
  if (lowest !== undefined) await advanceSlot(input.source, input.names.slot, lowest);
}
