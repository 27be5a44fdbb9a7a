/** pgcopy's library API: the same functions the CLI and the Lambda handler use. */
export { loadConfig, parseConfig } from './config/load.js';
export { validateConfig } from './config/validate.js';
export type * from './config/types.js';
export type { ConfigInput } from './config/schema.js';
export { makePlan } from './plan/make-plan.js';
export type { PlanFilters } from './plan/select-tables.js';
export type { Plan, TablePlan, TargetPlan } from './plan/types.js';
export { renderPlan, planToJson } from './plan/render-plan.js';
export { run, type RunOptions, type RunOutcome } from './copy/run.js';
export type { RunEvent, RunReport, TableResult, TableStatus } from './report/events.js';
export { renderSummary } from './report/summary.js';
export { openConnectors, type SessionDeps } from './session.js';
export { redactSql, type Trace } from './db/trace.js';
export { asciiMarkers } from './report/ascii-markers.js';
export { createSecretsProvider } from './secrets/create-provider.js';
export type { SecretsProvider } from './secrets/provider.js';
export { openSshTunnel } from './tunnel/ssh-tunnel.js';
export { runCli } from './cli/main.js';
export {
  handler,
  PgcopyFunction,
  type HandlerDeps,
  type HandlerResult,
  type LambdaContext,
} from './lambda/handler.js';
export type { PgcopyEvent } from './lambda/lambda-event.js';
export { RunFailedError } from './lambda/run-failed.js';
export { ERROR_TYPES, errorTypeOf, type ErrorType } from './lambda/error-type.js';
export {
  PgcopyError,
  ConfigError,
  SecretError,
  TunnelError,
  ConnectError,
  CopyError,
} from './errors.js';

import type { Config } from './config/types.js';
import { makePlan } from './plan/make-plan.js';
import type { PlanFilters } from './plan/select-tables.js';
import type { Plan } from './plan/types.js';
import { openConnectors, type SessionDeps } from './session.js';

/** Plans a config without copying: connects, reads both catalogs, applies the plan rules. */
export async function plan(
  config: Config,
  filters: PlanFilters = {},
  deps: SessionDeps = {},
): Promise<Plan> {
  const connectors = await openConnectors(config, deps);
  try {
    return await makePlan(config, connectors, filters, deps.signal ? { signal: deps.signal } : {});
  } finally {
    await connectors.close();
  }
}
