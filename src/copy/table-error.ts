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

/** Turns whatever a table's copy threw into the report's error, naming the cause clearly. */
export async function toTableError(
  error: unknown,
  context: { signal?: AbortSignal | undefined; source: Connector; target: Connector },
): Promise<TableError> {
  if (context.signal?.aborted) {
    return { code: 'ABORTED', message: 'interrupted; the target transaction was rolled back' };
  }
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
