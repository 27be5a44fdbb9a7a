import type pg from 'pg';
import type { Strategy } from '../config/types.js';
import type { Connector } from '../db/connector.js';
import { endClient } from '../db/end-client.js';
import type { TablePlan } from '../plan/types.js';
import type { EventListener, TableError, TableRef, TableResult } from '../report/events.js';
import type { SnapshotCoordinator } from './snapshot.js';
import { SESSION_SETTINGS_SQL } from './sql.js';
import { streamCopy, type LoadResult } from './stream-copy.js';
import { toTableError } from './table-error.js';

export interface PairContext {
  readonly source: Connector;
  readonly target: Connector;
  readonly snapshot: SnapshotCoordinator;
  readonly strategy: Strategy;
  readonly signal?: AbortSignal | undefined;
  readonly emit: EventListener;
  readonly now: () => Date;
  /** Minimum milliseconds between progress events of one table. */
  readonly progressIntervalMs: number;
}

export function refOf(plan: TablePlan): TableRef {
  return { target: plan.targetName, source: plan.sourceTable, table: plan.targetTable };
}

export function resultOf(
  plan: TablePlan,
  strategy: Strategy,
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
    strategy,
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
  let load: LoadResult | undefined;
  let error: TableError | null = null;
  try {
    ctx.signal?.throwIfAborted();
    sourceClient = await ctx.source.connect({ ...(ctx.signal ? { signal: ctx.signal } : {}) });
    await sourceClient.query(SESSION_SETTINGS_SQL);
    // The config asked for this table's rows as the source's policies filter them.
    if (plan.rowSecurity === 'apply') await sourceClient.query('SET row_security = on');
    await ctx.snapshot.join(sourceClient);
    targetClient = await ctx.target.connect({ ...(ctx.signal ? { signal: ctx.signal } : {}) });
    await targetClient.query(SESSION_SETTINGS_SQL);
    await targetClient.query('BEGIN');
    load = await streamCopy(sourceClient, targetClient, plan, {
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
    await targetClient.query('COMMIT');
  } catch (thrown) {
    await rollback(targetClient);
    error = await toTableError(thrown, {
      signal: ctx.signal,
      source: ctx.source,
      target: ctx.target,
    });
  } finally {
    await Promise.all(
      [sourceClient, targetClient].map((c) => (c ? endClient(c) : Promise.resolve())),
    );
  }
  const warnings = [...plan.warnings];
  if (load && load.rows === 0) warnings.push('zero rows copied');
  if (load && !error) warnings.push(...load.warnings);
  return resultOf(plan, ctx.strategy, {
    rows: load?.rows ?? 0,
    bytes: load?.bytes ?? bytes,
    seconds: seconds(),
    warnings,
    error,
  });
}
