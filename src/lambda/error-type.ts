import { isTransientError } from '../copy/transient.js';
import { OUTCOME_UNKNOWN } from '../copy/table-error.js';
import { ConfigError, ConnectError, PgcopyError, SecretError, TunnelError } from '../errors.js';
import type { RunReport, TableError } from '../report/events.js';
import { RunFailedError } from './run-failed.js';

/**
 * A failed invocation's `errorType`: the thrown error's name, which Lambda passes on and Step
 * Functions matches its Retry and Catch on. Stable: deployments depend on these strings.
 */
export const ERROR_TYPES = {
  /** A new invocation may pass: a dropped connection, a tunnel or secret timeout, a lost snapshot. */
  transient: 'PgcopyTransient',
  /** A table failed in a way a new invocation would meet again (a duplicate key, a plan refusal). */
  tableFailed: 'PgcopyTableFailed',
  /** The Lambda time limit stopped the run; the tables it stopped were rolled back. */
  timeLimit: 'PgcopyTimeLimit',
  /** The config, the event or what the deployment gives (secrets, logins, keys) must be fixed. */
  config: 'PgcopyConfig',
  /** Anything else: an error pgcopy did not expect. */
  failed: 'PgcopyFailed',
} as const;

export type ErrorType = (typeof ERROR_TYPES)[keyof typeof ERROR_TYPES];

/** Failures that only follow another table's: that table's failure decides. */
const FOLLOWING = new Set(['GROUP_ROLLED_BACK', 'PARENT_NOT_LOADED']);

/** SSH failures an operator must fix; every other tunnel failure is the network's. */
const TUNNEL_SETUP = new Set(['TUNNEL_HOST_KEY', 'TUNNEL_AUTH', 'TUNNEL_KEY']);

function tableErrorType(error: TableError | null | undefined): ErrorType {
  if (error?.code === 'TIMEOUT') return ERROR_TYPES.timeLimit;
  // A commit whose answer was lost: a new invocation under the same run id reads it from the
  // target's ledger (skips it if it committed, copies it if not).
  if (error?.code === OUTCOME_UNKNOWN) return ERROR_TYPES.transient;
  // A new invocation takes a new snapshot, so a lost one is no reason to fail for good.
  if (error?.transient === true || error?.code === 'SNAPSHOT_LOST') return ERROR_TYPES.transient;
  return ERROR_TYPES.tableFailed;
}

/**
 * A run with failed tables is transient only when a new invocation could pass every one of them;
 * one table that failed for good makes it PgcopyTableFailed, else a time limit makes it
 * PgcopyTimeLimit.
 */
export function runErrorType(report: RunReport): ErrorType {
  const types = report.tables
    .filter(
      (t) =>
        (t.status === 'error' || t.status === 'unknown') && !FOLLOWING.has(t.error?.code ?? ''),
    )
    .map((t) => tableErrorType(t.error));
  if (types.length === 0 || types.includes(ERROR_TYPES.tableFailed)) return ERROR_TYPES.tableFailed;
  if (types.includes(ERROR_TYPES.timeLimit)) return ERROR_TYPES.timeLimit;
  return ERROR_TYPES.transient;
}

/** The errorType of whatever an invocation threw. */
export function errorTypeOf(error: unknown): ErrorType {
  if (error instanceof RunFailedError) return runErrorType(error.report);
  if (error instanceof ConfigError) return ERROR_TYPES.config;
  if (error instanceof TunnelError) {
    return TUNNEL_SETUP.has(error.code) ? ERROR_TYPES.config : ERROR_TYPES.transient;
  }
  if (error instanceof SecretError) {
    return error.code === 'SECRET_TIMEOUT' ? ERROR_TYPES.transient : ERROR_TYPES.config;
  }
  if (error instanceof PgcopyError && error.code === 'TIMEOUT') return ERROR_TYPES.timeLimit;
  if (error instanceof PgcopyError && error.code === 'PLAN') return ERROR_TYPES.tableFailed;
  if (isTransientError(error)) return ERROR_TYPES.transient;
  // Not the network's: the login was refused, there is no password, no such database.
  if (error instanceof ConnectError) return ERROR_TYPES.config;
  return ERROR_TYPES.failed;
}

/** The error to throw, named by its errorType (its class and `code` stay as they were). */
export function withErrorType(error: unknown): Error {
  const typed =
    error instanceof Error
      ? error
      : new PgcopyError('UNEXPECTED', `non-error thrown: ${String(error)}`);
  typed.name = errorTypeOf(error);
  return typed;
}
