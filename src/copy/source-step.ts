import { ConnectError, PgcopyError, describeError, sqlstateOf } from '../errors.js';

/**
 * Runs one of the run's source-wide steps (reading the catalogs, opening the snapshot) so that a
 * connection lost in the middle says which side and what was happening, instead of a bare
 * `Connection terminated unexpectedly`. PostgreSQL's own errors and pgcopy's pass unchanged.
 */
export async function sourceStep<T>(what: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof PgcopyError || sqlstateOf(error) !== undefined) throw error;
    if (error instanceof Error && error.name === 'AbortError') throw error;
    throw new ConnectError(
      'source',
      `source: connection lost while ${what}: ${describeError(error)}`,
      {
        cause: error,
      },
    );
  }
}
