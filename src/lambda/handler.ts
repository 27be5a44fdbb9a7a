import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { run } from '../copy/run.js';
import { PgcopyError, describeError } from '../errors.js';
import { planToJson } from '../plan/render-plan.js';
import { pairName, planHasErrors, type Plan } from '../plan/types.js';
import type { RunReport } from '../report/events.js';
import { ConfigCache } from './config-cache.js';
import { marginFrom, startDeadline } from './deadline.js';
import { checkEventNames, parseEvent } from './lambda-event.js';
import { logRunEvent, type LogSink } from './log-events.js';
import { redactEnvironment } from './redact-environment.js';
import { RunFailedError } from './run-failed.js';
import { SecretsProviders, type CreateSecretsClient } from './secrets-clients.js';

/** What Lambda passes in that the handler reads; a real Context has all of it. */
export type LambdaContext = Pick<Context, 'getRemainingTimeInMillis'> & Partial<Context>;

/** A dry run's answer: the plan, as `pgcopy plan --json` prints it. */
export interface DryRunResult {
  readonly dryRun: true;
  readonly plan: unknown;
}

export type HandlerResult = RunReport | DryRunResult;

export interface HandlerDeps {
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Default: Powertools' Logger, JSON lines on stdout (service `pgcopy`). */
  readonly logger?: LogSink & { addContext?(context: Context): void };
  readonly createSecretsClient?: CreateSecretsClient;
}

function planFailure(plan: Plan): PgcopyError {
  const refused = plan.targets.flatMap((t) => t.tables).filter((t) => t.errors.length > 0);
  return new PgcopyError(
    'PLAN',
    `dry run: ${refused.length} table(s) cannot be copied: ${refused.map((t) => `${pairName(t)}: ${t.errors.join('; ')}`).join('; ')}`,
  );
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

  constructor(deps: HandlerDeps = {}) {
    this.env = deps.env ?? process.env;
    this.configs = new ConfigCache(this.env);
    this.secrets = new SecretsProviders(this.env, deps.createSecretsClient);
    this.logger = deps.logger ?? new Logger({ serviceName: 'pgcopy' });
  }

  async invoke(event: unknown, context: LambdaContext): Promise<HandlerResult> {
    if (this.logger.addContext && context.awsRequestId !== undefined) {
      this.logger.addContext(context as Context);
    }
    try {
      return await this.runOnce(event, context);
    } catch (error) {
      const code = error instanceof PgcopyError ? error.code : 'UNEXPECTED';
      this.logger.error(`❌ Run failed: ${describeError(error)}`, { event: 'run-failed', code });
      // Lambda hands the message and stack to whoever invoked the function.
      throw redactEnvironment(error, this.env);
    }
  }

  private async runOnce(rawEvent: unknown, context: LambdaContext): Promise<HandlerResult> {
    const event = parseEvent(rawEvent);
    const config = await this.configs.get(event.config);
    const fromEvent = this.configs.fromEvent(event.config);
    // A deployed config may be narrowed by an event; only the deployment widens what it does.
    if (!fromEvent) this.configs.checkMode(config, event.filters.mode);
    checkEventNames(config, event.filters);
    const deadline = startDeadline(context.getRemainingTimeInMillis(), marginFrom(this.env));
    try {
      const { plan, report } = await run(config, {
        signal: deadline.signal,
        filters: event.filters,
        dryRun: event.dryRun,
        onEvent: (e) => logRunEvent(this.logger, e),
        // An event's config gets no PG* variables, password or service file of the function's.
        deps: { secrets: this.secrets.for(config.secrets), env: fromEvent ? {} : this.env },
      });
      if (!report) {
        if (planHasErrors(plan)) throw planFailure(plan);
        return { dryRun: true, plan: planToJson(plan) };
      }
      if (report.status === 'error') throw new RunFailedError(report);
      return report;
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
}

/** The container's PgcopyFunction, made at the first invocation (not when the module loads). */
let container: PgcopyFunction | undefined;

/** The Lambda entry point (`index.handler` in the bundle). */
export function handler(event: unknown, context: LambdaContext): Promise<HandlerResult> {
  container ??= new PgcopyFunction();
  return container.invoke(event, context);
}
