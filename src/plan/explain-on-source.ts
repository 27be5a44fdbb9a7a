import type pg from 'pg';
import { describeError } from '../errors.js';

/** pg sends a query with the extended protocol when asked: one statement, never several. */
interface ExtendedQuery extends pg.QueryConfig {
  readonly queryMode: 'extended';
}

/**
 * EXPLAINs one SELECT on the source in a read-only transaction, with the extended protocol (which
 * refuses several statements): PostgreSQL's message when it refuses it, else undefined. How the
 * plan checks the SQL a config brings (`where` filters, data rule expressions) before a run.
 */
export async function explainError(
  client: pg.ClientBase,
  select: string,
): Promise<string | undefined> {
  try {
    await client.query('BEGIN READ ONLY');
    const explain: ExtendedQuery = { text: `EXPLAIN ${select}`, queryMode: 'extended' };
    await client.query(explain);
    return undefined;
  } catch (error) {
    return describeError(error);
  } finally {
    await client.query('ROLLBACK');
  }
}
