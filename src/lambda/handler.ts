import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { run } from '../copy/run.js';
import { ConfigError, PgcopyError, describeError } from '../errors.js';
import { planToJson } from '../plan/render-plan.js';
import { pairName, planHasErrors, type Plan } from '../plan/types.js';
import { DEFAULT_ITEM_BUDGET_BYTES, planItems, type PlanItem } from '../plan/plan-items.js';
import { itemSummary, type ItemSummary } from './item-summary.js';
import { publishRunMetrics } from './run-metrics.js';
import { ConfigCache } from './config-cache.js';
import { marginFrom, startDeadline } from './deadline.js';
import { checkEventNames, parseEvent, type ParsedEvent, type PgcopyEvent } from './lambda-event.js';
import { logRunEvent, withFields, type LogSink } from './log-events.js';
import { redactEnvironment } from './redact-environment.js';
import { newRunId } from '../run-id.js';
import { withErrorType } from './error-type.js';
import { RunFailedError } from './run-failed.js';
import { SecretsProviders, type CreateSecretsClient } from './secrets-clients.js';
import type { Config } from '../config/types.js';
import { sync } from '../sync/sync.js';
import { appliedLine } from '../sync/applied-line.js';
import { logSyncEvent, syncResult, type SyncResult } from './sync-result.js';

/** What Lambda passes in that the handler reads; a real Context has all of it. */
export type LambdaContext = Pick<Context, 'getRemainingTimeInMillis'> & Partial<Context>;

/** A dry run's answer: the plan, as `pgcopy plan --json` prints it. */
export interface DryRunResult {
  readonly dryRun: true;
  readonly plan: unknown;
}

/** The items action's answer: the run as items for a fan-out, every planned pair in one. */
export interface ItemsResult {
  readonly action: 'items';
  readonly items: readonly (PlanItem & Pick<PgcopyEvent, 'mode' | 'verify'>)[];
  readonly pairs: number;
  readonly estimatedBytes: number;
  readonly budgetBytes: number;
}

/**
 * What an invocation returns, with the run id it ran under (the event's, or a new one): a copy's
 * bounded summary (the full report is in the log), a dry run's plan, or the items.
 */
export type HandlerResult =
  ItemSummary | ((DryRunResult | ItemsResult) & { readonly runId: string }) | SyncResult;

export interface HandlerDeps {
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Default: Powertools' Logger, JSON lines on stdout (service `pgcopy`). */
  readonly logger?: LogSink & { addContext?(context: Context): void };
  readonly createSecretsClient?: CreateSecretsClient;
  /** The clock a new run id is taken from. */
  readonly now?: () => Date;
}

function planFailure(plan: Plan): PgcopyError {
  const refused = plan.targets.flatMap((t) => t.tables).filter((t) => t.errors.length > 0);
  return new PgcopyError(
    'PLAN',
    `dry run: ${refused.length} table(s) cannot be copied: ${refused.map((t) => `${pairName(t)}: ${t.errors.join('; ')}`).join('; ')}`,
  );
}

/** The event's run id, else its resumed report's; both given, they must agree (as in the CLI). */
function runIdOf(event: ParsedEvent): string | undefined {
  const resumed = event.resume?.runId;
  if (event.runId !== undefined && resumed !== undefined && resumed !== event.runId) {
    throw new ConfigError(
      `event.runId: ${event.runId} differs from the run id of event.resume (${resumed}): a resumed run continues under its own id; leave out runId`,
    );
  }
  return event.runId ?? resumed;
}

/** The plan as items, each carrying the event's mode and verify (its copy invocation's event). */
function itemsOf(plan: Plan, event: ParsedEvent): Omit<ItemsResult, 'runId'> {
  const budgetBytes = event.budgetBytes ?? DEFAULT_ITEM_BUDGET_BYTES;
  const items = planItems(plan, budgetBytes).map((item) => ({
    ...item,
    ...(event.filters.mode !== undefined ? { mode: event.filters.mode } : {}),
    ...(event.verify ? { verify: true } : {}),
  }));
  return {
    action: 'items',
    items,
    pairs: items.reduce((sum, i) => sum + i.pairs, 0),
    estimatedBytes: items.reduce((sum, i) => sum + i.estimatedBytes, 0),
    budgetBytes,
  };
}

/**
 * One per container: the parsed configs, the Secrets Manager clients and the logger live as long as
 * the container does; each invocation runs the same `run()` as the CLI.
 */
export class PgcopyFunction {
  readonly configs: ConfigCache;
  readonly secrets: SecretsProviders;
  private readonly env: Readonly<Record<string, string | undefined>>;
  private readonly logger: NonNullable<HandlerDeps['logger']>;
  private readonly now: () => Date;

  constructor(deps: HandlerDeps = {}) {
    this.env = deps.env ?? process.env;
    this.configs = new ConfigCache(this.env);
    this.secrets = new SecretsProviders(this.env, deps.createSecretsClient);
    this.logger = deps.logger ?? new Logger({ serviceName: 'pgcopy' });
    this.now = deps.now ?? (() => new Date());
  }

  async invoke(event: unknown, context: LambdaContext): Promise<HandlerResult> {
    if (this.logger.addContext && context.awsRequestId !== undefined) {
      this.logger.addContext(context as Context);
    }
    let log: LogSink = this.logger;
    try {
      const parsed = parseEvent(event);
      // Made here when the event gives none, so that every log line of the run carries it.
      const runId = runIdOf(parsed) ?? newRunId(this.now());
      log = withFields(this.logger, { runId });
      return await this.runOnce(parsed, runId, log, context);
    } catch (error) {
      const code = error instanceof PgcopyError ? error.code : 'UNEXPECTED';
      // Lambda hands the name (as errorType), message and stack to whoever invoked the function.
      const thrown = withErrorType(redactEnvironment(error, this.env));
      log.error(`❌ Run failed: ${describeError(error)}`, {
        event: 'run-failed',
        code,
        errorType: thrown.name,
      });
      throw thrown;
    }
  }

  private async runOnce(
    event: ParsedEvent,
    runId: string,
    log: LogSink,
    context: LambdaContext,
  ): Promise<HandlerResult> {
    const config = await this.configs.get(event.config);
    const fromEvent = this.configs.fromEvent(event.config);
    // A deployed config may be narrowed by an event; only the deployment widens what it does.
    if (!fromEvent) this.configs.checkMode(config, event.filters.mode);
    checkEventNames(config, event.filters);
    if (event.sync) return this.syncOnce(config, fromEvent, log, context);
    const deadline = startDeadline(context.getRemainingTimeInMillis(), marginFrom(this.env));
    try {
      const { plan, report } = await run(config, {
        signal: deadline.signal,
        filters: event.filters,
        dryRun: event.dryRun || event.action === 'items',
        verify: event.verify,
        resume: event.resume,
        runId,
        onEvent: (e) => logRunEvent(log, e),
        // An event's config gets no PG* variables, password or service file of the function's.
        deps: { secrets: this.secrets.for(config.secrets), env: fromEvent ? {} : this.env },
      });
      if (event.action === 'items') return { ...itemsOf(plan, event), runId };
      if (!report) {
        if (planHasErrors(plan)) throw planFailure(plan);
        return { dryRun: true, runId, plan: planToJson(plan) };
      }
      publishRunMetrics(report, runId);
      if (report.status === 'error' || report.status === 'unknown') {
        throw new RunFailedError(report);
      }
      return itemSummary(report, runId);
    } catch (error) {
      if (error === deadline.reason) {
        throw new PgcopyError(
          'TIMEOUT',
          `${deadline.reason.message} before any table was copied; nothing was written`,
        );
      }
      throw error;
    } finally {
      deadline.dispose();
    }
  }

  /**
   * `{ "sync": true }`: a catch-up that stops the margin before the time limit, after the source
   * transaction being applied (every target has committed all it applied; the next invocation
   * goes on from there).
   */
  private async syncOnce(
    config: Config,
    fromEvent: boolean,
    log: LogSink,
    context: LambdaContext,
  ): Promise<SyncResult> {
    const stopAt = Date.now() + context.getRemainingTimeInMillis() - marginFrom(this.env);
    const { report } = await sync(config, {
      stopAt,
      // Small pieces: what a target has been sent must execute within the margin once stopped.
      batch: SYNC_DEADLINE_BATCH,
      onEvent: (e) => logSyncEvent(log, e),
      deps: { secrets: this.secrets.for(config.secrets), env: fromEvent ? {} : this.env },
    });
    for (const t of report.targets) {
      log.info(`Sync ${t.target}: ${appliedLine(t.applied)}; position ${t.position ?? 'none'}`, {
        event: 'sync-target',
        target: t.target,
        ...t.applied,
        position: t.position,
      });
    }
    const result = syncResult(report);
    if (report.status !== 'ok') {
      throw new PgcopyError(
        'SYNC',
        `sync: ${report.copies.length > 0 ? 'a copy failed or ' : ''}some tables are not followed yet; the next sync copies them again`,
      );
    }
    return result;
  }
}

/** The applier's batch under a Lambda deadline: 64 KiB of SQL, or a quarter second, at most. */
const SYNC_DEADLINE_BATCH = { bytes: 64 * 1024, maxMs: 250 } as const;

/** The container's PgcopyFunction, made at the first invocation (not when the module loads). */
let container: PgcopyFunction | undefined;

/** The Lambda entry point (`index.handler` in the bundle). */
export function handler(event: unknown, context: LambdaContext): Promise<HandlerResult> {
  container ??= new PgcopyFunction();
  return container.invoke(event, context);
}
