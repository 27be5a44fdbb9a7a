import type pg from 'pg';
import { recordStatements, type PairRecord } from '../ledger/pair-record.js';
import type { Connector } from '../db/connector.js';
import { userPathLocalSql } from '../db/search-path.js';
import { pairName, type TablePlan } from '../plan/types.js';
import type {
  EventListener,
  RowChanges,
  TableError,
  TableRef,
  TableResult,
} from '../report/events.js';
import type { SnapshotCoordinator } from './snapshot.js';
import { destinationSetup } from './destination.js';
import { advanceSequences, type SequenceOutcome } from './sequences.js';
import { strategyFor } from './strategies/index.js';
import type { Loaded } from './strategies/types.js';
import { ConnectionWatch, PairStep } from './connection-watch.js';
import { OUTCOME_UNKNOWN, toTableError } from './table-error.js';
import { sqlstateOf } from '../errors.js';
import type { WorkerConnections } from './worker-connections.js';
import type { PairHooks } from './pair-hooks.js';
import type { SharedRead } from './fanout/shared-read.js';
import { createIndexes, dropIndexes, type DroppedIndexes } from './index-rebuild.js';
import { warningCode } from '../report/warning-codes.js';

export interface PairContext {
  readonly source: Connector;
  readonly target: Connector;
  /** The worker's connections: the pair takes its clients from them and hands them back. */
  readonly connections: WorkerConnections;
  readonly snapshot: SnapshotCoordinator;
  readonly signal?: AbortSignal | undefined;
  readonly emit: EventListener;
  readonly now: () => Date;
  /** Minimum milliseconds between progress events of one table. */
  readonly progressIntervalMs: number;
  readonly hooks?: PairHooks | undefined;
  /**
   * The rows come from a read shared with other targets (read once, write many): the pair takes
   * no source connection of its own and only joins that read; its target side is unchanged.
   */
  readonly sharedRead?: SharedRead | undefined;
  /**
   * The table is a member of a truncate group: it loads in the group's target transaction (begun,
   * its tables truncated), after `setup`, and the group commits or rolls back; the pair neither
   * begins, truncates, commits nor hands back that connection.
   */
  readonly group?: GroupTransaction | undefined;
  /**
   * The statements that record the pair in its target's ledger (rows written, prepared parts),
   * run in the pair's transaction just before its COMMIT; none where the target has no ledger.
   */
  readonly ledger?: PairRecord | undefined;
}

/** A truncate group's one target transaction, as one member's load joins it. */
export interface GroupTransaction {
  readonly target: pg.Client;
  /** Statements this member runs first in the transaction (its trigger setting). */
  readonly setup: readonly string[];
}

export function refOf(plan: TablePlan): TableRef {
  return { target: plan.targetName, source: plan.sourceTable, table: plan.targetTable };
}

export function resultOf(
  plan: TablePlan,
  outcome: {
    rows: number;
    changes?: RowChanges | undefined;
    bytes: number;
    seconds: number;
    warnings: readonly string[];
    error: TableError | null;
    indexes?: TableResult['indexes'] | undefined;
  },
): TableResult {
  const codes = outcome.warnings.map(warningCode);
  const acknowledge = new Set(plan.acknowledge ?? []);
  const acknowledged = [...new Set(codes.filter((code) => acknowledge.has(code)))];
  return {
    ...refOf(plan),
    status: outcome.error
      ? outcome.error.code === OUTCOME_UNKNOWN
        ? 'unknown'
        : 'error'
      : codes.some((code) => !acknowledge.has(code))
        ? 'warnings'
        : 'done',
    rows: outcome.rows,
    ...(outcome.changes ? { changes: outcome.changes } : {}),
    ...(outcome.indexes ? { indexes: outcome.indexes } : {}),
    bytes: outcome.bytes,
    seconds: Math.round(outcome.seconds * 1000) / 1000,
    strategy: plan.strategy,
    format: plan.format,
    mode: plan.mode,
    columns: plan.columns,
    skipped: plan.skipped,
    warnings: outcome.warnings,
    ...(codes.length > 0 ? { warningCodes: codes } : {}),
    ...(acknowledged.length > 0 ? { acknowledged } : {}),
    error: outcome.error,
  };
}

async function rollback(client: pg.Client): Promise<void> {
  try {
    await client.query('ROLLBACK');
  } catch {
    // The connection is gone; the server rolls back on its own.
  }
}

/** What the source session sets for a table's read: its policies, when the config asked for them. */
export function sourceSessionLocals(plan: TablePlan): string[] {
  return plan.rowSecurity === 'apply' ? ['SET LOCAL row_security = on'] : [];
}

/** A group member's target: the group's transaction, after the member's own setup. */
async function joinGroup(group: GroupTransaction): Promise<pg.Client> {
  if (group.setup.length > 0) await group.target.query(group.setup.join('; '));
  return group.target;
}

/** The run's watch of a target session a strategy opens through the source, for this pair. */
function watchRemoteOf(
  hooks: PairHooks | undefined,
  plan: TablePlan,
): ((applicationName: string) => Disposable) | undefined {
  const watch = hooks?.watchRemote;
  return watch ? (applicationName) => watch(applicationName, plan) : undefined;
}

/**
 * Which sides' transactions the pair's COPYs begin (the stream strategy sends a side's first
 * statements in its COPY's query string: one wait fewer per table on that side). The source's,
 * unless the read is shared (the read begins its own, likewise). The target's, unless something
 * comes between its BEGIN and the COPY (indexes dropped after the TRUNCATE, the search_path
 * switched for the target's own code) or the table loads in its group's transaction.
 */
function copyBegins(plan: TablePlan, ctx: PairContext): { source: boolean; target: boolean } {
  const stream = plan.strategy === 'stream';
  return {
    source: stream && !ctx.sharedRead,
    target: stream && !ctx.group && plan.runsUserCode !== true && plan.rebuildIndexes === undefined,
  };
}

/** Copies one (target, table) pair atomically and reports how it ended; never throws. */
export async function copyPair(plan: TablePlan, ctx: PairContext): Promise<TableResult> {
  const started = ctx.now().getTime();
  const seconds = (): number => (ctx.now().getTime() - started) / 1000;
  const ref = refOf(plan);
  let sourceClient: pg.Client | undefined;
  let targetClient: pg.Client | undefined;
  let bytes = 0;
  let lastProgress = 0;
  let load: Loaded | undefined;
  let sequences: SequenceOutcome | undefined;
  let dropped: DroppedIndexes | undefined;
  let indexSeconds = 0;
  let error: TableError | null = null;
  const strategy = strategyFor(plan.strategy);
  let committedOnSource = false;
  // A client goes back to the worker only when its state is known: idle, outside a transaction.
  let sourceUsable = false;
  let targetUsable = false;
  // Which side dropped, and during which step, for the error message.
  const step = new PairStep();
  const watches: { source?: ConnectionWatch; target?: ConnectionWatch } = {};
  let lockWatch: Disposable | undefined;
  const signal = ctx.signal ? { signal: ctx.signal } : {};
  const shared = ctx.sharedRead;
  const onProgress = (sofar: number): void => {
    bytes = sofar;
    const now = ctx.now().getTime();
    if (now - lastProgress < ctx.progressIntervalMs) return;
    lastProgress = now;
    ctx.emit({ type: 'table-progress', ref, bytes, seconds: seconds() });
  };
  try {
    ctx.signal?.throwIfAborted();
    const destination = destinationSetup(plan);
    const joining = {
      readOnly: !strategy.writesOnSource,
      // The config asked for this table's rows as the source's policies filter them.
      local: sourceSessionLocals(plan),
    };
    // BEGIN and the target's preparation (truncate, staging table) in one query string; a push
    // writes (and truncates) through the source's session instead.
    const beginTarget = (client: pg.ClientBase): string =>
      ['BEGIN', ...(strategy.writesOnSource ? [] : destination.statements(client))].join('; ');
    const deferred = copyBegins(plan, ctx);
    // The two sides get ready at once: one wait, not two (none where the COPYs begin their
    // transactions). Both are settled before going on, so that a failure of one never leaves the
    // other's client unaccounted for.
    step.at('joining the snapshot and starting the target transaction');
    const ready = await Promise.allSettled([
      shared?.join(ctx.snapshot).then((client) => {
        watches.source = new ConnectionWatch(client);
        return client;
      }) ??
        ctx.connections.sourceClient(signal).then(async (client) => {
          sourceClient = client;
          watches.source = new ConnectionWatch(client);
          if (!deferred.source) await ctx.snapshot.join(client, joining);
          return client;
        }),
      ctx.group
        ? joinGroup(ctx.group).then((client) => {
            watches.target = new ConnectionWatch(client);
            // The group's connection is watched for each member's load in turn.
            lockWatch = ctx.hooks?.watchTarget?.(client, plan);
            return client;
          })
        : ctx.connections.targetClient(plan.targetName, signal).then(async (client) => {
            targetClient = client;
            watches.target = new ConnectionWatch(client);
            await ctx.hooks?.prepareTarget?.(client, plan);
            lockWatch = ctx.hooks?.watchTarget?.(client, plan);
            if (!deferred.target) await client.query(beginTarget(client));
            return client;
          }),
    ]);
    const [source, target] = ready.map((outcome) => {
      if (outcome.status === 'rejected') throw outcome.reason;
      return outcome.value;
    }) as [pg.Client, pg.Client];
    if (!strategy.writesOnSource && !deferred.target) {
      // Under the lock TRUNCATE took (or, in append mode, the one DROP INDEX takes) until COMMIT.
      step.at('dropping the indexes to rebuild after the load');
      dropped = await dropIndexes(target, plan);
    }
    step.at(`copying ${pairName(plan)} from "${plan.sourceTable}"`);
    const into = { plan, target, destination: destination.table, signal: ctx.signal, onProgress };
    const begin = {
      source: deferred.source ? ctx.snapshot.joinSql(joining) : undefined,
      target: deferred.target ? beginTarget(target) : undefined,
    };
    load = await (shared?.load({ ...into, begin: begin.target }) ??
      strategy.load({
        ...into,
        begin,
        ledger: ctx.ledger,
        source,
        sourceSpec: ctx.source.spec,
        targetSpec: ctx.target.spec,
        snapshotId: ctx.snapshot.snapshotId,
        watchRemote: watchRemoteOf(ctx.hooks, plan),
      }));
    ctx.signal?.throwIfAborted();
    if (strategy.writesOnSource) {
      // The rows were written through the source's session: the target commits with it.
      step.at('committing on the source (the target commits with it)');
      await source.query('COMMIT');
      committedOnSource = true;
    }
    if (dropped && dropped.indexes.length > 0) {
      step.at('creating the dropped indexes again');
      const rebuildStarted = ctx.now().getTime();
      await createIndexes(target, plan, dropped);
      indexSeconds = (ctx.now().getTime() - rebuildStarted) / 1000;
    }
    sequences = await advanceSequences(target, plan);
    step.at('verifying');
    await ctx.hooks?.beforeCommit?.({ plan, source, target, load });
    // A group member's rows commit with its group: a drop here rolls them back.
    step.at(ctx.group ? 'recording the table in the group transaction' : 'committing');
    // The read-only source transaction ends while the target commits (two connections, one wait).
    // Its ending cannot change the table's outcome; a source that fails it is not reused. A
    // shared read's source transaction is the read's to end.
    const sourceEnded =
      committedOnSource || shared
        ? Promise.resolve(true)
        : source.query('ROLLBACK').then(
            () => true,
            () => false,
          );
    // A group member's rows commit with the group, after its last table. Deferred constraint
    // triggers fire at COMMIT: they too see the target's configured path.
    // A push recorded the pair on the target through the source, with its rows.
    const record = strategy.writesOnSource ? [] : recordStatements(ctx.ledger, load.rows);
    [sourceUsable] = await Promise.all([
      sourceEnded,
      ctx.group
        ? record.length > 0
          ? target.query(record.join('; '))
          : null
        : target.query(
            [...record, ...(plan.runsUserCode ? [userPathLocalSql(target)] : []), 'COMMIT'].join(
              '; ',
            ),
          ),
    ]);
    targetUsable = true;
  } catch (thrown) {
    // Neither client is rolled back here: the source may still be streaming a COPY, the target
    // may be gone. Both are closed (below), which ends their transactions (fdw-push's remote one
    // with the source's), and the worker opens new ones for its next table. A lock timeout is the
    // exception: the target is alive, and once rolled back it can say who holds the lock.
    sourceUsable = false;
    let explained = thrown;
    if (sqlstateOf(thrown) === '55P03' && targetClient) {
      await rollback(targetClient);
      explained = (await ctx.hooks?.explainFailure?.(thrown, targetClient, plan)) ?? thrown;
    }
    error = await toTableError(explained, {
      signal: ctx.signal,
      source: ctx.source,
      target: ctx.target,
      step,
      watches,
      redact: plan.redactValues,
    });
  } finally {
    lockWatch?.[Symbol.dispose]();
    watches.source?.[Symbol.dispose]();
    watches.target?.[Symbol.dispose]();
    shared?.leave(plan);
    await Promise.all([
      sourceClient ? ctx.connections.release(sourceClient, sourceUsable) : undefined,
      targetClient ? ctx.connections.release(targetClient, targetUsable) : undefined,
    ]);
  }
  const warnings = [...plan.warnings];
  if (load && load.rows === 0) warnings.push('zero rows copied');
  if (sequences && !error) warnings.push(...sequences.warnings);
  if (dropped?.keptBecause !== undefined && !error) {
    warnings.push(`indexes kept during the load: ${dropped.keptBecause}`);
  }
  const read = { rows: load?.rows ?? 0, bytes: load?.bytes ?? bytes };
  if (error && committedOnSource) {
    // fdw-push: the rows (and the ledger's record) committed with the source before a later step
    // failed: the table is done, and says what failed after. A table reported `error` has
    // nothing committed, and none is tried again.
    warnings.push(
      `after its ${read.rows} rows were committed through the source: ${error.code}: ${error.message}`,
    );
    error = null;
  }
  // A failed table wrote nothing: its rows were rolled back. An unknown outcome reports the rows
  // sent: they are in, or none is.
  const kept = !error || error.code === OUTCOME_UNKNOWN;
  const result = resultOf(plan, {
    rows: kept ? read.rows : 0,
    // A failed table changed nothing (fdw-push, which keeps its rows, has no upsert).
    changes: error ? undefined : load?.changes,
    bytes: kept ? read.bytes : 0,
    seconds: seconds(),
    warnings,
    error,
    indexes:
      error || !dropped || dropped.indexes.length === 0
        ? undefined
        : {
            rebuilt: dropped.indexes.map((i) => i.name),
            seconds: Math.round(indexSeconds * 1000) / 1000,
          },
  });
  return !kept && read.rows + read.bytes > 0 ? { ...result, rolledBack: read } : result;
}
