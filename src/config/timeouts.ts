import type { Config } from './types.js';

/** A target's lock_timeout and statement_timeout in milliseconds; absent: the server's own. */
export interface Timeouts {
  readonly lockTimeoutMs?: number;
  readonly statementTimeoutMs?: number;
}

/** The target's own timeouts, else the run's (options.lockTimeout / options.statementTimeout). */
export function timeoutsOf(config: Config, target: string): Timeouts {
  const own = config.targets.find((t) => t.name === target);
  const lockTimeoutMs = own?.lockTimeoutMs ?? config.options.lockTimeoutMs;
  const statementTimeoutMs = own?.statementTimeoutMs ?? config.options.statementTimeoutMs;
  return {
    ...(lockTimeoutMs !== undefined ? { lockTimeoutMs } : {}),
    ...(statementTimeoutMs !== undefined ? { statementTimeoutMs } : {}),
  };
}
