import type pg from 'pg';
import type { Config } from '../config/types.js';
import type { Connectors } from '../db/connectors.js';
import { SyncError, describeError } from '../errors.js';
import { run } from '../copy/run.js';
import { makePlan } from '../plan/make-plan.js';
import { pairName, type Plan, type TablePlan } from '../plan/types.js';
import type { EventListener, RunReport } from '../report/events.js';
import { openConnectors, type SessionDeps } from '../session.js';
import { newRunId } from '../run-id.js';
import { formatLsn, parseLsn } from './lsn.js';
import { syncNames, type SyncNames } from './names.js';
import { ensurePublications } from './publication.js';
import { createSlotWithSnapshot, slotInfo, type SlotInfo } from './slot.js';
import { slotWarnings } from './slot-warnings.js';
import { forgetSlotSql, readPositions } from './sync-state.js';
import { ensureSyncState, lowestPosition, seedFromLedger } from './positions.js';
import { catchUp, type TargetProgress } from './catch-up.js';
import { zeroCounts } from './applied-counts.js';
import type { AppliedCounts, Lsn } from './types.js';
import type { ApplierBatch } from './target-applier.js';

/** What `pgcopy sync` tells as it goes (the CLI renders it, the Lambda logs it). */
export type SyncEvent =
  | { readonly type: 'sync-step'; readonly at: string; readonly message: string }
  | { readonly type: 'sync-warning'; readonly at: string; readonly message: string }
  | {
      readonly type: 'sync-progress';
      readonly at: string;
      /** Source transactions read so far. */
      readonly transactions: number;
      readonly lsn: string;
    }
  | { readonly type: 'sync-copy'; readonly event: Parameters<EventListener>[0] };

export interface SyncOptions {
  /**
   * Stops the sync: the source transaction being applied is finished (committed on every target),
   * then the sync ends as if it had reached --until. Never cancels a statement half-way.
   */
  readonly signal?: AbortSignal | undefined;
  readonly onEvent?: ((event: SyncEvent) => void) | undefined;
  readonly deps?: SessionDeps | undefined;
  readonly now?: (() => Date) | undefined;
  /** `now` (default: the source's WAL position when the sync starts) or an LSN (`16/B374D848`). */
  readonly until?: string | undefined;
  /** Keep following the source until the signal stops it. */
  readonly follow?: boolean | undefined;
  /** --follow: how long to wait between reads when the slot had nothing new (default 1000 ms). */
  readonly pollIntervalMs?: number | undefined;
  /** Stop (as the signal does) at this time (Date.now() milliseconds): the Lambda's deadline. */
  readonly stopAt?: number | undefined;
  /**
   * How much each target transaction holds (the applier's defaults otherwise): what is sent must
   * still execute once a stop comes, so a deadline wants small pieces.
   */
  readonly batch?: ApplierBatch | undefined;
}

/** One target's share of a sync. */
export interface SyncTargetReport {
  readonly target: string;
  readonly applied: AppliedCounts;
  /** The lowest position of its followed tables after the sync (null: none is followed yet). */
  readonly position: string | null;
}

export interface SyncReport {
  readonly slot: string;
  readonly publications: readonly string[];
  readonly startedAt: string;
  readonly finishedAt: string;
  /** This sync created the slot and made the first copy. */
  readonly slotCreated: boolean;
  /** The copies made (the first, or of tables added to the config), as `run` reports them. */
  readonly copies: readonly RunReport[];
  /** Where the catch-up was to end (null: --follow). */
  readonly until: string | null;
  /** The slot's confirmed position after the sync. */
  readonly slotPosition: string | null;
  /** Stopped by the signal or the deadline before --until. */
  readonly stopped: boolean;
  readonly targets: readonly SyncTargetReport[];
  readonly warnings: readonly string[];
  /** error: a copy failed (its pairs are copied again by the next sync) or a pair is not followed. */
  readonly status: 'ok' | 'error';
}

export interface SyncOutcome {
  readonly plan: Plan;
  readonly report: SyncReport;
}

/**
 * `pgcopy sync`: the first time, a publication and a slot whose exported snapshot every pair is
 * copied in; every time, the pairs without a position copied in a new snapshot, then the slot's
 * changes applied to every target up to `until` (or followed until stopped), then the slot
 * moved to what every target has applied.
 */
export async function sync(config: Config, options: SyncOptions = {}): Promise<SyncOutcome> {
  const now = options.now ?? (() => new Date());
  const listener = options.onEvent ?? (() => undefined);
  const emit = (event: SyncEvent): void => listener(event);
  const step = (message: string): void =>
    emit({ type: 'sync-step', at: now().toISOString(), message });
  const startedAt = now().toISOString();
  if (!config.options.ledger) {
    // Each pair's first position comes from its ledger row (source_lsn).
    throw new SyncError(
      'sync needs the ledger on each target (options.ledger is false): it records the slot position each copy corresponds to',
    );
  }
  const stop = stopSignal(options);
  const names = syncNames(config);
  // No abort signal for the connectors: a stop finishes the transaction being applied, it never
  // cancels a statement.
  const deps = withoutSignal(options.deps);
  const connectors = await openConnectors(config, deps);
  let source: pg.Client | undefined;
  const targets = new Map<string, pg.Client>();
  try {
    const plan = await makePlan(config, connectors, undefined, { sync: true });
    // The plan's connections: a sync connects its own, and may follow for hours.
    await connectors.endIdle();
    refusePlanErrors(plan);
    const followed = followedTargets(plan, connectors);
    const pairs = followed.flatMap((t) => t.tables);
    source = await connectors.source.connect();
    await lockSlot(source, names.slot);
    const changes = await ensurePublications(source, names, publishedTables(config, pairs));
    for (const name of changes.created) step(`created publication ${name}`);
    for (const line of [...changes.added, ...changes.removed]) step(`publication ${line}`);
    for (const t of followed) {
      const client = await connectors.target(t.name).connect();
      targets.set(t.name, client);
      await ensureSyncState(client, config.options.ledgerSchema);
    }
    const copies: RunReport[] = [];
    let slot = await slotInfo(source, names.slot);
    const slotCreated = slot === undefined;
    if (slot === undefined) {
      // A slot of this name dropped earlier left positions that mean nothing to the new one.
      for (const client of targets.values()) {
        await client.query(forgetSlotSql(config.options.ledgerSchema, names.slot));
      }
      step(`creating replication slot ${names.slot} and copying every table in its snapshot`);
      copies.push(
        await copyInSlotSnapshot(
          config,
          connectors,
          names.slot,
          pairs,
          { ...options, signal: stop },
          false,
        ),
      );
      slot = await requireSlot(source, names.slot);
    }
    const from = parseLsn(slot.confirmedFlush ?? slot.current);
    await seedAll(config, names, followed, targets, from);
    const unfollowed = await pairsWithoutPosition(config, names, followed, targets);
    if (unfollowed.length > 0) {
      step(
        `copying ${unfollowed.length} table(s) not followed yet in a new snapshot: ${unfollowed.map(pairName).join(', ')}`,
      );
      copies.push(
        await copyInSlotSnapshot(
          config,
          connectors,
          tempSlotName(names),
          unfollowed,
          { ...options, signal: stop },
          true,
        ),
      );
      await seedAll(config, names, followed, targets, from);
    }
    const warnings = slotWarnings(config, await requireSlot(source, names.slot));
    for (const message of warnings)
      emit({ type: 'sync-warning', at: now().toISOString(), message });
    const until = options.follow ? undefined : await untilLsn(source, options.until);
    step(
      until === undefined
        ? `following slot ${names.slot} until SIGINT or SIGTERM`
        : `applying the changes of slot ${names.slot} up to ${formatLsn(until)}`,
    );
    const progress = await catchUp({
      source,
      names,
      plan,
      config,
      targets: followed.map((t) => ({
        name: t.name,
        client: clientOf(targets, t.name),
        pairs: t.tables,
      })),
      until,
      follow: options.follow === true,
      pollIntervalMs: options.pollIntervalMs ?? 1000,
      ...(options.batch ? { batch: options.batch } : {}),
      stop,
      emit,
      now,
    });
    const after = await requireSlot(source, names.slot);
    const stillUnfollowed = await pairsWithoutPosition(config, names, followed, targets);
    const failedCopy = copies.some((c) => c.status === 'error' || c.status === 'unknown');
    return {
      plan,
      report: {
        slot: names.slot,
        publications: [names.publication, names.insertOnlyPublication],
        startedAt,
        finishedAt: now().toISOString(),
        slotCreated,
        copies,
        until: until === undefined ? null : formatLsn(until),
        slotPosition: after.confirmedFlush,
        stopped: progress.stopped,
        targets: followed.map((t) => targetReport(t.name, progress.targets)),
        warnings,
        status: failedCopy || stillUnfollowed.length > 0 ? 'error' : 'ok',
      },
    };
  } finally {
    await Promise.all([...targets.values()].map((c) => c.end().catch(() => undefined)));
    await source?.end().catch(() => undefined);
    await connectors.close();
  }
}

/**
 * One sync of a slot at a time (a scheduled catch-up that overlaps a --follow, two first syncs):
 * a session advisory lock on the source, held until the sync's connection ends.
 */
async function lockSlot(source: pg.ClientBase, slot: string): Promise<void> {
  const { rows } = await source.query<{ locked: boolean }>(
    'SELECT pg_try_advisory_lock(hashtext($1)) AS locked',
    [`pgcopy sync ${slot}`],
  );
  if (rows[0]?.locked !== true) {
    throw new SyncError(`another pgcopy sync of slot ${slot} is running on this source`);
  }
}

/** The sync's stop: the caller's signal, and the deadline if one is given. */
function stopSignal(options: SyncOptions): AbortSignal {
  const signals: AbortSignal[] = [];
  if (options.signal) signals.push(options.signal);
  if (options.stopAt !== undefined) {
    signals.push(AbortSignal.timeout(Math.max(0, options.stopAt - Date.now())));
  }
  return signals.length === 0 ? new AbortController().signal : AbortSignal.any(signals);
}

function refusePlanErrors(plan: Plan): void {
  const refused = plan.targets.flatMap((t) =>
    t.tables.flatMap((table) => table.errors.map((e) => `${pairName(table)}: ${e}`)),
  );
  if (refused.length > 0) {
    throw new SyncError(`sync: the plan refuses ${refused.length} pair(s):\n${refused.join('\n')}`);
  }
}

/** The targets with a planned pair, reachable (an unavailable target cannot be followed). */
function followedTargets(
  plan: Plan,
  connectors: Connectors,
): { name: string; tables: readonly TablePlan[] }[] {
  return plan.targets
    .filter((t) => t.tables.length > 0)
    .map((t) => {
      const unavailable = connectors.targets.get(t.name)?.spec.unavailable;
      if (unavailable) throw new SyncError(`sync: target ${t.name}: ${describeError(unavailable)}`);
      return { name: t.name, tables: t.tables };
    });
}

function publishedTables(config: Config, pairs: readonly TablePlan[]) {
  const insertOnly = config.options.sync?.insertOnly ?? [];
  const seen = new Map<string, { schema: string; table: string; insertOnly: boolean }>();
  for (const p of pairs) {
    seen.set(`${p.sourceSchema}\u0000${p.sourceTable}`, {
      schema: p.sourceSchema,
      table: p.sourceTable,
      insertOnly: insertOnly.includes(p.sourceTable),
    });
  }
  return [...seen.values()];
}

async function requireSlot(source: pg.ClientBase, slot: string): Promise<SlotInfo> {
  const info = await slotInfo(source, slot);
  if (!info) throw new SyncError(`replication slot ${slot} does not exist (dropped meanwhile?)`);
  return info;
}

function tempSlotName(names: SyncNames): string {
  return `${names.slot.slice(0, 40)}_${Math.floor(Math.random() * 0xffffff).toString(16)}`;
}

function clientOf(targets: ReadonlyMap<string, pg.Client>, name: string): pg.Client {
  const client = targets.get(name);
  if (!client) throw new Error(`no connection to target ${name}`);
  return client;
}

/**
 * Copies `pairs` in the snapshot of a slot created now (the lasting one, or a temporary one whose
 * consistent point the lasting slot has passed already); each pair's ledger row records the point.
 */
async function copyInSlotSnapshot(
  config: Config,
  connectors: Connectors,
  slot: string,
  pairs: readonly TablePlan[],
  options: SyncOptions,
  temporary: boolean,
): Promise<RunReport> {
  const exported = await createSlotWithSnapshot(connectors.source, slot, { temporary });
  const wanted = new Set(
    pairs.map((p) => `${p.targetName}\u0000${p.targetSchema}\u0000${p.targetTable}`),
  );
  try {
    const { report } = await run(config, {
      ...(options.signal ? { signal: options.signal } : {}),
      onEvent: (event) => options.onEvent?.({ type: 'sync-copy', event }),
      ...(options.deps ? { deps: options.deps } : {}),
      ...(options.now ? { now: options.now } : {}),
      runId: newRunId((options.now ?? (() => new Date()))()),
      snapshot: { coordinator: exported.snapshot, sourceLsn: exported.consistentPoint },
      only: (t) => wanted.has(`${t.targetName}\u0000${t.targetSchema}\u0000${t.targetTable}`),
    });
    if (!report) throw new SyncError('sync: the copy produced no report');
    return report;
  } finally {
    await exported.close();
  }
}

async function seedAll(
  config: Config,
  names: SyncNames,
  followed: readonly { name: string; tables: readonly TablePlan[] }[],
  targets: ReadonlyMap<string, pg.Client>,
  from: Lsn,
): Promise<void> {
  for (const t of followed) {
    await seedFromLedger(
      clientOf(targets, t.name),
      config.options.ledgerSchema,
      names.slot,
      t.tables,
      from,
    );
  }
}

async function pairsWithoutPosition(
  config: Config,
  names: SyncNames,
  followed: readonly { name: string; tables: readonly TablePlan[] }[],
  targets: ReadonlyMap<string, pg.Client>,
): Promise<TablePlan[]> {
  const missing: TablePlan[] = [];
  for (const t of followed) {
    const positions = await readPositions(
      clientOf(targets, t.name),
      config.options.ledgerSchema,
      names.slot,
    );
    for (const p of t.tables) {
      if (lowestPosition(positions, [p]) === undefined) missing.push(p);
    }
  }
  return missing;
}

/** --until: `now` (or nothing) is the source's WAL position at this moment. */
async function untilLsn(source: pg.ClientBase, until: string | undefined): Promise<Lsn> {
  if (until !== undefined && until !== 'now') return parseLsn(until);
  // The insert position, not the write position: a commit still in the WAL buffers (with
  // synchronous_commit = off) has returned to its client, and `now` must include it.
  const { rows } = await source.query<{ lsn: string }>(
    'SELECT pg_current_wal_insert_lsn()::text AS lsn',
  );
  return parseLsn(rows[0]?.lsn ?? '0/0');
}

function targetReport(
  name: string,
  progress: ReadonlyMap<string, TargetProgress>,
): SyncTargetReport {
  const p = progress.get(name);
  return {
    target: name,
    applied: p?.applied ?? zeroCounts(),
    position: p?.position === undefined ? null : formatLsn(p.position),
  };
}

/** The session's dependencies without its abort signal. */
function withoutSignal(deps: SessionDeps | undefined): SessionDeps {
  return Object.fromEntries(Object.entries(deps ?? {}).filter(([key]) => key !== 'signal'));
}
