import type pg from 'pg';
import type { Connector } from '../db/connector.js';
import { endClient } from '../db/end-client.js';
import { pairName, type TablePlan } from '../plan/types.js';
import type { EventListener, TableError, TableRef, TableResult } from '../report/events.js';
import type { SnapshotCoordinator } from './snapshot.js';
import { SESSION_SETTINGS_SQL } from './sql.js';
import { advanceSequences, type SequenceOutcome } from './sequences.js';
import { strategyFor } from './strategies/index.js';
import type { Loaded } from './strategies/types.js';
import { ConnectionWatch, PairStep } from './connection-watch.js';
import { toTableError } from './table-error.js';
import type { PairHooks } from './pair-hooks.js';

export interface PairContext {
  readonly source: Connector;
  readonly target: Connector;
  readonly snapshot: SnapshotCoordinator;
  readonly signal?: AbortSignal | undefined;
  readonly emit: EventListener;
  readonly now: () => Date;
  /** Minimum milliseconds between progress events of one table. */
  readonly progressIntervalMs: number;
  readonly hooks?: PairHooks | undefined;
}

export function refOf(plan: TablePlan): TableRef {
  return { target: plan.targetName, source: plan.sourceTable, table: plan.targetTable };
}

export function resultOf(
  plan: TablePlan,
  outcome: {
    rows: number;
    bytes: number;
    seconds: number;
    warnings: readonly string[];
    error: TableError | null;
  },
): TableResult {
  return {
    ...refOf(plan),
    status: outcome.error ? 'error' : outcome.warnings.length > 0 ? 'warnings' : 'done',
    rows: outcome.rows,
    bytes: outcome.bytes,
    seconds: Math.round(outcome.seconds * 1000) / 1000,
    strategy: plan.strategy,
    format: plan.format,
    mode: plan.mode,
    columns: plan.columns,
    skipped: plan.skipped,
    warnings: outcome.warnings,
    error: outcome.error,
  };
}

async function rollback(client: pg.Client | undefined): Promise<void> {
  if (!client) return;
  try {
    await client.query('ROLLBACK');
  } catch {
    // The connection is gone; the server rolls back on its own.
  }
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
  let error: TableError | null = null;
  const strategy = strategyFor(plan.strategy);
  let committedOnSource = false;
  // Which side dropped, and during which step, for the error message.
  const step = new PairStep();
  const watches: { source?: ConnectionWatch; target?: ConnectionWatch } = {};
  try {
    ctx.signal?.throwIfAborted();
    sourceClient = await ctx.source.connect({ ...(ctx.signal ? { signal: ctx.signal } : {}) });
    watches.source = new ConnectionWatch(sourceClient);
    step.at('joining the snapshot');
    await sourceClient.query(SESSION_SETTINGS_SQL);
    // The config asked for this table's rows as the source's policies filter them.
    if (plan.rowSecurity === 'apply') await sourceClient.query('SET row_security = on');
    await ctx.snapshot.join(sourceClient, { readOnly: !strategy.writesOnSource });
    targetClient = await ctx.target.connect({ ...(ctx.signal ? { signal: ctx.signal } : {}) });
    watches.target = new ConnectionWatch(targetClient);
    step.at('starting the transaction');
    await targetClient.query(SESSION_SETTINGS_SQL);
    await ctx.hooks?.prepareTarget?.(targetClient, plan);
    await targetClient.query('BEGIN');
    step.at(`copying ${pairName(plan)} from "${plan.sourceTable}"`);
    load = await strategy.load({
      plan,
      source: sourceClient,
      target: targetClient,
      sourceSpec: ctx.source.spec,
      targetSpec: ctx.target.spec,
      snapshotId: ctx.snapshot.snapshotId,
      signal: ctx.signal,
      onProgress: (counts) => {
        bytes = counts.bytes;
        const now = ctx.now().getTime();
        if (now - lastProgress < ctx.progressIntervalMs) return;
        lastProgress = now;
        ctx.emit({
          type: 'table-progress',
          ref,
          rows: counts.rows,
          bytes: counts.bytes,
          seconds: seconds(),
        });
      },
    });
    ctx.signal?.throwIfAborted();
    if (strategy.writesOnSource) {
      // The rows were written through the source's session: the target commits with it.
      step.at('committing on the source (the target commits with it)');
      await sourceClient.query('COMMIT');
      committedOnSource = true;
    }
    sequences = await advanceSequences(targetClient, plan);
    step.at('verifying');
    await ctx.hooks?.beforeCommit?.({ plan, source: sourceClient, target: targetClient, load });
    step.at('committing');
    await targetClient.query('COMMIT');
  } catch (thrown) {
    await rollback(targetClient);
    const explained = (await ctx.hooks?.explainFailure?.(thrown, targetClient, plan)) ?? thrown;
    // The source is not rolled back here: it may still be streaming a COPY. Closing the session
    // (below) ends its transaction, and with it fdw-push's remote one.
    error = await toTableError(explained, {
      signal: ctx.signal,
      source: ctx.source,
      target: ctx.target,
      step,
      watches,
    });
  } finally {
    watches.source?.[Symbol.dispose]();
    watches.target?.[Symbol.dispose]();
    await Promise.all(
      [sourceClient, targetClient].map((c) => (c ? endClient(c) : Promise.resolve())),
    );
  }
  const warnings = [...plan.warnings];
  if (load && load.rows === 0) warnings.push('zero rows copied');
  if (sequences && !error) warnings.push(...sequences.warnings);
  const read = { rows: load?.rows ?? 0, bytes: load?.bytes ?? bytes };
  if (error && committedOnSource) {
    // fdw-push: the target committed with the source before the failure; its rows stay.
    error = {
      ...error,
      transient: false, // rows are committed: a new attempt would copy them twice
      message: `${error.message} (the ${read.rows} rows pushed to the target were committed before this failure)`,
    };
  }
  // A failed table wrote nothing (but after a push's commit): its rows were rolled back.
  const kept = !error || committedOnSource;
  const result = resultOf(plan, {
    rows: kept ? read.rows : 0,
    bytes: kept ? read.bytes : 0,
    seconds: seconds(),
    warnings,
    error,
  });
  return !kept && read.rows + read.bytes > 0 ? { ...result, rolledBack: read } : result;
}
