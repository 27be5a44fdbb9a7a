import type pg from 'pg';
import { sqlstateOf } from '../errors.js';

/**
 * Whether the role may load with user triggers off (`session_replication_role = replica`): a
 * superuser may, and on PostgreSQL 15+ a role granted SET on the parameter. Tried in a transaction
 * that is rolled back, so the answer is the server's own (managed services grant it their way)
 * and nothing changes. Call it outside a transaction.
 */
export async function mayDisableTriggers(client: pg.ClientBase): Promise<boolean> {
  try {
    // One round trip: the transaction begins, tries the setting and ends in the one string.
    await client.query(`BEGIN; SET LOCAL session_replication_role = replica; ROLLBACK`);
    return true;
  } catch (error) {
    // The string stopped at the failed statement, inside the transaction it had begun.
    const ended = await client.query('ROLLBACK').then(
      () => true,
      () => false,
    );
    if (ended && sqlstateOf(error) === '42501') return false;
    throw error;
  }
}
