import type { Connectors } from '../db/connectors.js';
import { orphanReason, unloadedParent } from '../plan/orphan-rules.js';
import type { TablePlan } from '../plan/types.js';
import type { EventListener, TableError, TableResult } from '../report/events.js';
import type { Verified } from '../verify/verify-before-commit.js';
import { AbortScope } from './abort-scope.js';
import { copyPair, refOf, resultOf } from './copy-pair.js';
import type { ReadUnit } from './fanout/read-units.js';
import { SharedRead } from './fanout/shared-read.js';
import type { PairHooks } from './pair-hooks.js';
import { copyWithRetries, type RetryPolicy } from './retry.js';
import type { SnapshotHolder } from './snapshot-holder.js';
import { copierOf } from './split/copy-split.js';
import { abortedTableError } from './table-error.js';
import { copyTruncateGroup, orphanedGroup } from './truncate-group.js';
import type { WorkerConnections } from './worker-connections.js';
import { pairRecord } from '../ledger/pair-record.js';
import type { TargetLedger } from '../ledger/target-ledger.js';

/** What the run's copy phase shares between its units: connections, snapshot, hooks, results. */
export interface CopyPhase {
  readonly connectors: Connectors;
  /** Each worker's connections, kept from one table to the next for the whole run. */
  readonly connectionsOf: (worker: number) => WorkerConnections;
  readonly snapshot: SnapshotHolder | undefined;
  readonly signal: AbortSignal | undefined;
  readonly emit: EventListener;
  readonly now: () => Date;
  readonly progressIntervalMs: number;
  readonly hooks: PairHooks;
  readonly policy: RetryPolicy;
  /** The run's id: it names its prepared transactions (split tables) and its ledger rows. */
  readonly runId: string;
  /** Each target's ledger as the run found it. */
  readonly ledgers: ReadonlyMap<string, TargetLedger>;
  /** pgcopy sync's first copy: the slot position recorded with each pair in the ledger. */
  readonly sourceLsn?: string | undefined;
  readonly all: readonly TablePlan[];
  readonly results: Map<TablePlan, TableResult>;
  readonly verified: ReadonlyMap<TablePlan, Verified>;
}

/** A pair that ends without copying anything: the plan refused it, or the run was interrupted first. */
export function uncopied(plan: TablePlan, error: TableError): TableResult {
  return resultOf(plan, {
    rows: 0,
    bytes: 0,
    seconds: 0,
    warnings: plan.warnings,
    error,
  });
}

function fail(phase: CopyPhase, table: TablePlan, error: TableError): void {
  const result = uncopied(table, error);
  phase.results.set(table, result);
  phase.emit({ type: 'table-failed', at: phase.now().toISOString(), result });
}

function record(phase: CopyPhase, table: TablePlan, result: TableResult): void {
  const check = result.error ? undefined : phase.verified.get(table);
  const final = check ? { ...result, verified: check } : result;
  phase.results.set(table, final);
  phase.emit({
    type: final.error ? 'table-failed' : 'table-done',
    at: phase.now().toISOString(),
    result: final,
  });
}

/** Whether a table of the run on `target` ended without its rows (refused, failed, skipped). */
function notLoaded(phase: CopyPhase, target: string, table: string): boolean {
  const parent = phase.all.find((p) => p.targetName === target && p.targetTable === table);
  return parent !== undefined && (phase.results.get(parent)?.error ?? null) !== null;
}

/**
 * Runs one unit of the pool on its worker: a pair, the pairs of a shared read, or a truncate
 * group. A shared read runs on the worker's connections: its one source connection and its
 * connection to each target (the members' targets differ), so a unit holds no more connections to
 * any server than a single pair's worker would.
 */
export async function copyUnit(
  unit: ReadUnit,
  worker: number,
  others: readonly number[],
  phase: CopyPhase,
): Promise<void> {
  if (unit.loadGroup) return copyGroup(unit.tables, worker, phase);
  using readScope = new AbortScope(phase.signal);
  const shared = unit.columns
    ? new SharedRead(
        unit.tables,
        unit.columns,
        phase.connectionsOf(worker),
        phase.signal ? readScope.signal : undefined,
      )
    : undefined;
  await Promise.all(unit.tables.map((table) => copyTable(table, worker, others, shared, phase)));
}

async function copyTable(
  table: TablePlan,
  worker: number,
  others: readonly number[],
  shared: SharedRead | undefined,
  phase: CopyPhase,
): Promise<void> {
  const { signal, snapshot, emit, now } = phase;
  if (signal?.aborted || !snapshot) {
    fail(phase, table, abortedTableError(signal, false));
    return;
  }
  // Loaded with foreign-key checks off, a child of a parent that did not load would hold orphans.
  const parent = unloadedParent(table, (name) => notLoaded(phase, table.targetName, name));
  if (parent !== undefined) {
    shared?.leave(table);
    fail(phase, table, { code: 'PARENT_NOT_LOADED', message: orphanReason(parent) });
    return;
  }
  emit({
    type: 'table-start',
    at: now().toISOString(),
    ref: refOf(table),
    format: table.format,
    mode: table.mode,
    estimatedRows: table.estimatedRows,
    estimatedBytes: table.estimatedBytes,
  });
  using pairScope = new AbortScope(signal);
  const pairSignal = signal ? pairScope.signal : undefined;
  // The first attempt of a shared read's pair takes its part of the read; a retry reads alone.
  let sharedTurn = shared;
  const result = await copyWithRetries(
    table,
    (current) => {
      const context = {
        source: phase.connectors.source,
        target: phase.connectors.target(table.targetName),
        connections: phase.connectionsOf(worker),
        snapshot: current,
        signal: pairSignal,
        emit,
        now,
        progressIntervalMs: phase.progressIntervalMs,
        hooks: phase.hooks,
        ledger: pairRecord(
          phase.ledgers.get(table.targetName),
          table,
          phase.runId,
          phase.sourceLsn,
        ),
      };
      const turn = sharedTurn;
      sharedTurn = undefined;
      if (turn) return copyPair(table, { ...context, sharedRead: turn });
      const copy = copierOf(others.map(phase.connectionsOf), phase.runId);
      return shared ? shared.alone(() => copy(table, context)) : copy(table, context);
    },
    { snapshots: snapshot, policy: phase.policy, signal: pairSignal, emit, now },
  );
  // A pair that never got to its first attempt (the snapshot was lost) holds no one up.
  sharedTurn?.leave(table);
  record(phase, table, result);
}

/** A load group (a truncate group, or a foreign-key cycle): its tables loaded together on the worker's connection to its target. */
async function copyGroup(
  members: readonly TablePlan[],
  worker: number,
  phase: CopyPhase,
): Promise<void> {
  const [first] = members as [TablePlan, ...TablePlan[]];
  const { signal, snapshot } = phase;
  if (signal?.aborted || !snapshot) {
    for (const m of members) fail(phase, m, abortedTableError(signal, false));
    return;
  }
  const orphaned = orphanedGroup(members, (target, table) => notLoaded(phase, target, table));
  if (orphaned) {
    for (const m of members) fail(phase, m, orphaned(m));
    return;
  }
  using groupScope = new AbortScope(signal);
  const done = await copyTruncateGroup(members, {
    source: phase.connectors.source,
    target: phase.connectors.target(first.targetName),
    connections: phase.connectionsOf(worker),
    signal: signal ? groupScope.signal : undefined,
    emit: phase.emit,
    now: phase.now,
    progressIntervalMs: phase.progressIntervalMs,
    hooks: phase.hooks,
    snapshots: snapshot,
    policy: phase.policy,
    ledger: (m) => pairRecord(phase.ledgers.get(m.targetName), m, phase.runId, phase.sourceLsn),
  });
  members.forEach((m, i) =>
    record(phase, m, done[i] ?? uncopied(m, abortedTableError(signal, true))),
  );
}
