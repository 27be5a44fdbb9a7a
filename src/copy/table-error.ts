import type { Connector } from '../db/connector.js';
import { CopyError, PgcopyError, describeError, sqlstateOf } from '../errors.js';
import type { TableError } from '../report/events.js';
import type { ConnectionWatch, PairStep, Side } from './connection-watch.js';
import { isTransientError } from './transient.js';
import { redactContext, redactDetail, redactMessage } from '../report/redact-values.js';

interface PgErrorFields {
  detail?: unknown;
  where?: unknown;
  hint?: unknown;
}

/** The code of a table whose COMMIT's outcome cannot be known (its status is `unknown`). */
export const OUTCOME_UNKNOWN = 'OUTCOME_UNKNOWN';

/** What settles an unknown outcome. */
export const UNKNOWN_NEXT =
  "the next run with the same run id reads it from the target's ledger and copies the table only if it did not";

/**
 * PostgreSQL's message with its detail and context, as one line. `redact`: without the row
 * values they may quote (a data rule is configured, or options.redactValues); the row number and
 * column of a COPY's context stay.
 */
export function pgMessage(error: unknown, redact = false): string {
  const message = describeError(error);
  let out = redact ? redactMessage(message) : message;
  if (typeof error === 'object' && error !== null) {
    const { detail, where } = error as PgErrorFields;
    if (typeof detail === 'string' && detail) {
      out += ` (${redact ? redactDetail(detail) : detail})`;
    }
    if (typeof where === 'string' && where) {
      const context = where.split('\n')[0] ?? '';
      out += ` [${redact ? redactContext(context) : context}]`;
    }
  }
  return out;
}

/** `source` or `target db_1`. */
function sideName(side: Side, connector: Connector): string {
  return side === 'source' ? 'source' : `target ${connector.spec.name}`;
}

/** The side whose connection dropped first, if one did. */
function droppedSide(
  watches: Partial<Record<Side, ConnectionWatch | undefined>>,
): { side: Side; lost: Error } | undefined {
  let first: { side: Side; lost: Error; at: number } | undefined;
  for (const side of ['source', 'target'] as const) {
    const watch = watches[side];
    if (watch?.lost && watch.lostAt < (first?.at ?? Infinity)) {
      first = { side, lost: watch.lost, at: watch.lostAt };
    }
  }
  return first;
}

/**
 * The error of a table the run's signal stopped. A reason that is a PgcopyError (the Lambda
 * handler's deadline: code TIMEOUT) gives its code and message; any other reason is an interrupt.
 */
export function abortedTableError(signal: AbortSignal | undefined, started: boolean): TableError {
  const reason: unknown = signal?.reason;
  const code = reason instanceof PgcopyError ? reason.code : 'ABORTED';
  const why = reason instanceof PgcopyError ? reason.message : 'interrupted';
  const outcome = started
    ? 'the target transaction was rolled back'
    : 'before this table started; nothing was written';
  return { code, message: `${why}${started ? ';' : ''} ${outcome}` };
}

/** Turns whatever a table's copy threw into the report's error, naming the cause clearly. */
export async function toTableError(
  error: unknown,
  context: {
    signal?: AbortSignal | undefined;
    source: Connector;
    target: Connector;
    step?: PairStep;
    watches?: Partial<Record<Side, ConnectionWatch | undefined>>;
    /** Leave row values out of the message (TablePlan.redactValues). */
    redact?: boolean | undefined;
  },
): Promise<TableError> {
  const redact = context.redact === true;
  if (context.signal?.aborted) return abortedTableError(context.signal, true);
  for (const connector of [context.source, context.target]) {
    const failure = await connector.tunnelFailure();
    if (failure) {
      return {
        code: 'TUNNEL',
        message: `${connector.spec.name}: ${failure.message}; the target transaction was rolled back`,
        transient: true,
      };
    }
  }
  const dropped = droppedSide(context.watches ?? {});
  if (dropped) {
    // A drop while committing leaves the outcome to the server: say so rather than guess.
    // The side whose COMMIT decides: the target's, or the source's for a push through it.
    const doing = context.step?.doing ?? '';
    const unknown =
      (doing === 'committing' && dropped.side === 'target') ||
      (doing.startsWith('committing on the source') && dropped.side === 'source');
    const outcome = unknown
      ? `the commit may or may not have happened on the target: ${UNKNOWN_NEXT}`
      : 'the target transaction was rolled back';
    const reason = pgMessage(sqlstateOf(dropped.lost) ? dropped.lost : error, redact);
    const sqlstate = sqlstateOf(dropped.lost) ?? sqlstateOf(error);
    return {
      code: unknown ? OUTCOME_UNKNOWN : 'CONNECTION_LOST',
      message: `${sideName(dropped.side, context[dropped.side])}: connection lost while ${context.step?.doing ?? 'copying'}: ${reason}; ${outcome}`,
      ...(sqlstate ? { sqlstate } : {}),
      // A drop during COMMIT may have committed: only a drop before it is safe to redo.
      transient: outcome === 'the target transaction was rolled back',
    };
  }
  // A CopyError that wraps a server's failure keeps its SQLSTATE beside its own code.
  const sqlstate = sqlstateOf(error) ?? (error instanceof CopyError ? error.sqlstate : undefined);
  const code = error instanceof PgcopyError ? error.code : sqlstate ? 'POSTGRES' : 'COPY';
  return {
    code,
    message: pgMessage(error, redact),
    ...(sqlstate ? { sqlstate } : {}),
    ...(isTransientError(error) ? { transient: true } : {}),
  };
}
