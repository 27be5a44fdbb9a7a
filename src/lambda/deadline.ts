import { ConfigError, PgcopyError } from '../errors.js';

/** Time kept back from Lambda's limit to roll back open tables and close connections. */
export const DEFAULT_MARGIN_MS = 10_000;

export interface Deadline {
  readonly signal: AbortSignal;
  /** The abort reason, a PgcopyError with code TIMEOUT. */
  readonly reason: PgcopyError;
  dispose(): void;
}

/** `PGCOPY_TIMEOUT_MARGIN_MS`, validated: milliseconds kept back before the time limit. */
export function marginFrom(env: Readonly<Record<string, string | undefined>>): number {
  const text = env['PGCOPY_TIMEOUT_MARGIN_MS'];
  if (text === undefined || text === '') return DEFAULT_MARGIN_MS;
  if (!/^\d+$/.test(text)) {
    throw new ConfigError(
      `PGCOPY_TIMEOUT_MARGIN_MS: expected a whole number of milliseconds, got ${JSON.stringify(text)}`,
    );
  }
  return Number(text);
}

/**
 * A signal that aborts `marginMs` before the invocation's time runs out, with a TIMEOUT error as its
 * reason: the run then rolls back the tables still copying and reports them `TIMEOUT`.
 */
export function startDeadline(remainingMs: number, marginMs: number): Deadline {
  const controller = new AbortController();
  const reason = new PgcopyError(
    'TIMEOUT',
    `timed out (stopped ${(marginMs / 1000).toFixed(1)} s before the Lambda time limit)`,
  );
  const timer = setTimeout(() => controller.abort(reason), Math.max(0, remainingMs - marginMs));
  return { signal: controller.signal, reason, dispose: () => clearTimeout(timer) };
}
