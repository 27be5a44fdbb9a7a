import type pg from 'pg';
import type { Config } from '../config/types.js';
import type { Connectors } from '../db/connectors.js';
import { makePlan } from '../plan/make-plan.js';
import type { PlanFilters } from '../plan/select-tables.js';
import type { Plan, TablePlan } from '../plan/types.js';
import {
  overallStatus,
  type EventListener,
  type RunReport,
  type TableError,
  type TableResult,
} from '../report/events.js';
import { openConnectors, type SessionDeps } from '../session.js';
import { AbortScope } from './abort-scope.js';
import { tablesToCopy } from './tables-to-copy.js';
import { copyUnit, uncopied, type CopyPhase } from './copy-units.js';
import { LockWaits, type LockWaitTiming } from './lock-waits.js';
import { runPool } from './pool.js';
import { runHooks } from './run-hooks.js';
import { DEFAULT_RETRY_DELAYS, type RetryPolicy } from './retry.js';
import { SnapshotCoordinator } from './snapshot.js';
import { sourceStep } from './source-step.js';
import { WorkerConnections } from './worker-connections.js';
import { SnapshotHolder } from './snapshot-holder.js';
import { endpointsIdentity, pairPlanHash } from '../resume/plan-hash.js';
import type { ResumeReport } from '../resume/resume-report.js';
import { verifyBeforeCommit, type Verified } from '../verify/verify-before-commit.js';
import { readUnits, unitBlockers } from './fanout/read-units.js';
import { limitSplit } from '../plan/split-rules.js';
import { settleLeftovers } from './split/leftovers.js';
import { openLedgers } from '../ledger/open-ledgers.js';
import type { TargetLedger } from '../ledger/target-ledger.js';
import { newRunId } from '../run-id.js';
import { endClient } from '../db/end-client.js';
import { VERSION } from '../version.js';

export interface RunOptions {
  readonly signal?: AbortSignal | undefined;
  readonly onEvent?: EventListener | undefined;
  readonly filters?: PlanFilters | undefined;
  /** Overrides options.concurrency. */
  readonly concurrency?: number | undefined;
  /** Plan only: no snapshot, no copy; the report lists nothing copied. */
  readonly dryRun?: boolean | undefined;
  readonly deps?: SessionDeps | undefined;
  readonly now?: (() => Date) | undefined;
  readonly progressIntervalMs?: number | undefined;
  /** run --resume: the earlier report; its done pairs with unchanged plans are skipped. */
  readonly resume?: ResumeReport | undefined;
  /** Verify each table against the source before its COMMIT (run --verify). */
  readonly verify?: boolean | undefined;
  /** When a lock wait is reported, and how often sessions are looked at (tests shorten it). */
  readonly lockWaitTiming?: LockWaitTiming | undefined;
  /** Backoff between attempts of a table (tests shorten it); retries come from options.retries. */
  readonly retryDelays?: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'> | undefined;
  /**
   * The run's id; generated when absent (a resumed report's when resuming). A run under the id of
   * an earlier one skips every pair the targets' ledgers record as committed under it.
   */
  readonly runId?: string | undefined;
  /**
   * Copy in a snapshot exported elsewhere instead of exporting one (pgcopy sync: its slot's), and
   * record `sourceLsn` (the slot's consistent point) with each pair in the targets' ledgers. A
   * lost snapshot fails the remaining pairs whatever options.onSnapshotLoss says: another
   * snapshot would not match the slot.
   */
  readonly snapshot?: ExternalSnapshot | undefined;
  /** Copy only the planned pairs this accepts (pgcopy sync: those not followed yet). */
  readonly only?: ((table: TablePlan) => boolean) | undefined;
}

export interface ExternalSnapshot {
  readonly coordinator: SnapshotCoordinator;
  readonly sourceLsn: string;
}

export interface RunOutcome {
  readonly plan: Plan;
  /** Absent on a dry run. */
  readonly report: RunReport | undefined;
}

/** The copy job, shared by the CLI and the Lambda handler: plan, snapshot, copy every pair, report. */
export async function run(config: Config, options: RunOptions = {}): Promise<RunOutcome> {
  const now = options.now ?? (() => new Date());
  const runId = options.runId ?? options.resume?.runId ?? newRunId(now());
  const listener = options.onEvent ?? (() => undefined);
  // Every event carries the run's id and the version that ran it.
  const emit: EventListener = (event) => listener({ ...event, runId, version: VERSION });
  const signal = options.signal;
  const connectors = await openConnectors(config, {
    ...options.deps,
    ...(signal ? { signal } : {}),
  });
  try {
    // A report of other databases is refused before any catalog is read.
    options.resume?.checkEndpoints(identityOf(config, connectors));
    const made = await sourceStep('reading the catalogs', () =>
      makePlan(config, connectors, options.filters, {
        ...(signal ? { signal } : {}),
        sync: options.snapshot !== undefined,
      }),
    );
    const plan = withRunLimits(made, {
      concurrency: options.concurrency ?? config.options.concurrency,
      verify: options.verify === true,
    });
    emit({ type: 'plan', plan });
    if (options.dryRun) return { plan, report: undefined };
    const report = await copyAll(config, plan, connectors, { ...options, emit, now, runId });
    emit({ type: 'run-end', report });
    return { plan, report };
  } finally {
    await connectors.close();
  }
}

/** The targets the run writes (a table of theirs passed the plan) and that resolved. */
function writtenTargets(plan: Plan, connectors: Connectors): string[] {
  return plan.targets
    .filter((t) => t.tables.some((table) => table.errors.length === 0))
    .map((t) => t.name)
    .filter((name) => connectors.targets.get(name)?.spec.unavailable === undefined);
}

/** The run's endpoints as they resolved (run --resume matches a report by them). */
function identityOf(config: Config, connectors: Connectors): string {
  return endpointsIdentity(config, {
    source: connectors.source.spec,
    targets: new Map([...connectors.targets].map(([name, c]) => [name, c.spec])),
  });
}

/** The plan's splits within this run's concurrency, and none under --verify. */
function withRunLimits(plan: Plan, run: Parameters<typeof limitSplit>[1]): Plan {
  return {
    ...plan,
    targets: plan.targets.map((t) => ({
      ...t,
      tables: t.tables.map((table) => limitSplit(table, run)),
    })),
  };
}

async function copyAll(
  config: Config,
  plan: Plan,
  connectors: Connectors,
  options: RunOptions & { emit: EventListener; now: () => Date; runId: string },
): Promise<RunReport> {
  const { emit, now, runId } = options;
  const concurrency = options.concurrency ?? config.options.concurrency;
  // The pairs' listeners hang on scopes of their own: one listener per running pair here, and
  // one per shared read (a worker runs at most one pair per target, or one read, at once).
  using runScope = new AbortScope(options.signal, concurrency * (plan.targets.length + 1) + 1);
  const signal = options.signal ? runScope.signal : undefined;
  const startedAt = now().toISOString();
  const only = options.only;
  const all = plan.targets.flatMap((t) => t.tables).filter((t) => only?.(t) ?? true);
  const results = new Map<TablePlan, TableResult>();
  const fail = (t: TablePlan, error: TableError): void => {
    const result = uncopied(t, error);
    results.set(t, result);
    emit({ type: 'table-failed', at: now().toISOString(), result });
  };
  // Each worker keeps its connections from one table to the next, for the whole run.
  const workers = new Map<number, WorkerConnections>();
  const connectionsOf = (worker: number): WorkerConnections => {
    let held = workers.get(worker);
    if (!held) workers.set(worker, (held = new WorkerConnections(connectors)));
    return held;
  };
  const closeWorkers = (): Promise<unknown> =>
    Promise.all([...workers.values()].map((w) => w.close()));
  let copyable: TablePlan[];
  let ledgers: Map<string, TargetLedger>;
  let snapshot: SnapshotHolder | undefined;
  // The source connections the copy starts with (the snapshot's, the first worker's) connect
  // while the targets' ledgers are read: a connection's set-up is not waited for after them. A
  // failed connect is reported where the connection is used (and the worker's is tried again).
  const snapshotClient = connectors.source.connect(signal ? { signal } : {}).then(
    (client) => ({ client }),
    (error: unknown) => ({ error }),
  );
  const taken = { snapshotClient: false };
  void connectionsOf(0)
    .sourceClient(signal ? { signal } : {})
    .catch(() => undefined);
  try {
    // Before any table starts: what this run id committed, and the leftovers of earlier runs.
    const written = writtenTargets(plan, connectors);
    connectors.step(`reading the ledgers of ${written.join(', ') || 'no target'}`);
    ledgers = await openLedgers(
      written,
      config,
      runId,
      connectionsOf(0),
      { emit, now, signal },
      options.snapshot !== undefined,
    );
    await settleLeftovers(written, ledgers, connectionsOf(0), emit, now, signal ? { signal } : {});
    copyable = (
      await tablesToCopy(all, {
        connectors,
        resume: options.resume,
        rerun: { runId, ledgers },
        signal,
        emit,
        record: (t, result) => results.set(t, result),
        fail,
      })
    ).sort((a, b) => b.estimatedBytes - a.estimatedBytes);
    snapshot =
      copyable.length === 0
        ? undefined
        : options.snapshot
          ? new SnapshotHolder(
              options.snapshot.coordinator,
              'fail',
              () => Promise.reject(new Error('an external snapshot is never re-exported')),
              emit,
              now,
            )
          : await openSnapshot(config, connectors, signal, emit, now, async () => {
              taken.snapshotClient = true;
              const early = await snapshotClient;
              if ('error' in early) throw early.error;
              return early.client;
            });
  } catch (error) {
    await closeWorkers();
    throw error;
  } finally {
    // Not taken by the snapshot (nothing to copy, or a failure before it): closed.
    if (!taken.snapshotClient) {
      const early = await snapshotClient;
      if ('client' in early) await endClient(early.client);
    }
  }
  const verified = new Map<TablePlan, Verified>();
  const lockWaits = new LockWaits(
    (name) => connectors.target(name),
    emit,
    now,
    options.lockWaitTiming,
  );
  const hooks = runHooks(
    config,
    lockWaits,
    options.verify ? verifyBeforeCommit((t, v) => verified.set(t, v)) : undefined,
  );
  const policy: RetryPolicy = {
    retries: config.options.retries,
    ...(options.retryDelays ?? DEFAULT_RETRY_DELAYS),
  };
  try {
    emit({
      type: 'run-start',
      at: startedAt,
      runId,
      snapshot: snapshot?.first ?? null,
      pairs: all.length,
      estimatedBytes: copyable.reduce((sum, t) => sum + t.estimatedBytes, 0),
    });
    const parentsOf = (table: TablePlan): TablePlan[] =>
      copyable.filter(
        (p) => p.targetName === table.targetName && table.loadsAfter?.includes(p.targetTable),
      );
    const phase: CopyPhase = {
      connectors,
      connectionsOf,
      snapshot,
      signal,
      emit,
      now,
      progressIntervalMs: options.progressIntervalMs ?? 250,
      hooks,
      policy,
      runId,
      ledgers,
      sourceLsn: options.snapshot?.sourceLsn,
      all,
      results,
      verified,
    };
    // A unit (a pair, a shared read, a truncate group) holds no more connections to any server
    // than a single pair's worker would (see copyUnit), so the bound stays `concurrency`
    // connections per server (the source's snapshot coordinator is +1).
    const units = readUnits(copyable, plan.readOnce);
    await runPool(
      units,
      concurrency,
      (unit, worker, others) => copyUnit(unit, worker, others, phase),
      unitBlockers(units, parentsOf),
      // A split table (always a unit of its own) takes a slot, and a worker's connections, per part.
      (unit) => (unit.tables.length === 1 ? (unit.tables[0]?.split?.parts ?? 1) : 1),
    );
  } finally {
    await closeWorkers();
    await lockWaits.close();
    await snapshot?.close().catch(() => undefined);
  }
  return reportOf(all, results, {
    runId,
    startedAt,
    snapshot,
    now,
    identity: identityOf(config, connectors),
  });
}

/**
 * The run's snapshot, held (and re-exported if lost, as the config asks) for the whole run, on
 * the source connection `connected` gives it (opened while the ledgers were read).
 */
async function openSnapshot(
  config: Config,
  connectors: Connectors,
  signal: AbortSignal | undefined,
  emit: EventListener,
  now: () => Date,
  connected: () => Promise<pg.Client>,
): Promise<SnapshotHolder> {
  const connectSource = (): Promise<pg.Client> =>
    connectors.source.connect(signal ? { signal } : {});
  connectors.step('source: opening the snapshot every table is read in');
  return new SnapshotHolder(
    await sourceStep('opening the snapshot', async () =>
      SnapshotCoordinator.open(await connected()),
    ),
    config.options.onSnapshotLoss,
    connectSource,
    emit,
    now,
  );
}

/** The report, in plan order (target by target), whatever order the pool finished in. */
function reportOf(
  all: readonly TablePlan[],
  results: ReadonlyMap<TablePlan, TableResult>,
  run: {
    runId: string;
    startedAt: string;
    snapshot: SnapshotHolder | undefined;
    now: () => Date;
    /** The endpoints as they resolved (endpointsIdentity). */
    identity: string;
  },
): RunReport {
  const tables = all.flatMap((t) => {
    const result = results.get(t);
    return result ? [{ ...result, planHash: pairPlanHash(t) }] : [];
  });
  const snapshots = run.snapshot?.ids ?? [];
  return {
    runId: run.runId,
    version: VERSION,
    startedAt: run.startedAt,
    finishedAt: run.now().toISOString(),
    status: overallStatus(tables),
    configId: run.identity,
    snapshot: run.snapshot?.first ?? null,
    ...(snapshots.length > 1 ? { snapshots } : {}),
    tables,
  };
}
