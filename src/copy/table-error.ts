import type { Connector } from '../db/connector.js';
import { PgcopyError, describeError, sqlstateOf } from '../errors.js';
import type { TableError } from '../report/events.js';

interface PgErrorFields {
  detail?: unknown;
  where?: unknown;
  hint?: unknown;
}

/** PostgreSQL's message with its detail and context, as one line. */
function pgMessage(error: unknown): string {
  let message = describeError(error);
  if (typeof error === 'object' && error !== null) {
    const { detail, where } = error as PgErrorFields;
    if (typeof detail === 'string' && detail) message += ` (${detail})`;
    if (typeof where === 'string' && where) message += ` [${where.split('\n')[0] ?? ''}]`;
  }
  return message;
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
  context: { signal?: AbortSignal | undefined; source: Connector; target: Connector },
): Promise<TableError> {
  if (context.signal?.aborted) return abortedTableError(context.signal, true);
  for (const connector of [context.source, context.target]) {
    const failure = await connector.tunnelFailure();
    if (failure) {
      return {
        code: 'TUNNEL',
        message: `${connector.spec.name}: ${failure.message}; the target transaction was rolled back`,
      };
    }
  }
  const sqlstate = sqlstateOf(error);
  const code = error instanceof PgcopyError ? error.code : sqlstate ? 'POSTGRES' : 'COPY';
  return { code, message: pgMessage(error), ...(sqlstate ? { sqlstate } : {}) };
}
