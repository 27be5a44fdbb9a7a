import type pg from 'pg';
import { quoteIdent } from '../db/quote.js';
import { ledgerName } from './ledger-sql.js';
import { printed } from '../report/printable.js';

/** What a target's role may do with the ledger, found without changing anything. */
export type LedgerAccess =
  | { readonly state: 'ready' }
  | { readonly state: 'created on first use' }
  | { readonly state: 'unavailable'; readonly reason: string };

/** The guarantee a target without a ledger loses, as the plan and check say it. */
export const LOST_GUARANTEE =
  'a re-run under the same run id (--run-id, --resume, a retried Lambda item) cannot tell which of its tables this run committed, and copies them again (in append mode, their rows twice)';

/**
 * Reads whether the ledger exists and may be written, or may be made: the schema (CREATE on the
 * database when it is missing) and the table (CREATE on the schema).
 */
export async function probeLedger(client: pg.ClientBase, schema: string): Promise<LedgerAccess> {
  const name = ledgerName(schema);
  const { rows } = await client.query<{
    table: boolean;
    write: boolean | null;
    schema: boolean;
    in_schema: boolean | null;
    in_database: boolean;
  }>(
    `SELECT to_regclass($1) IS NOT NULL AS table,
            CASE WHEN to_regclass($1) IS NULL THEN NULL
                 ELSE has_table_privilege($1, 'SELECT') AND has_table_privilege($1, 'INSERT') END AS write,
            to_regnamespace($2) IS NOT NULL AS schema,
            CASE WHEN to_regnamespace($2) IS NULL THEN NULL
                 ELSE has_schema_privilege(to_regnamespace($2)::oid, 'CREATE') END AS in_schema,
            has_database_privilege(current_database(), 'CREATE') AS in_database`,
    [name, quoteIdent(schema)],
  );
  const found = rows[0];
  if (!found) return { state: 'unavailable', reason: 'the catalog could not be read' };
  if (found.table) {
    return found.write
      ? { state: 'ready' }
      : { state: 'unavailable', reason: `the role may not read and insert into ${name}` };
  }
  if (found.schema ? found.in_schema : found.in_database) return { state: 'created on first use' };
  return {
    state: 'unavailable',
    reason: found.schema
      ? `${name} is missing and the role may not create tables in schema "${schema}"`
      : `schema "${schema}" is missing and the role may not create schemas in the database (CREATE on it)`,
  };
}

/** One target's ledger access, as plan and check print it. */
export interface TargetLedgerAccess {
  readonly target: string;
  readonly ledger: string;
  readonly state: LedgerAccess['state'] | 'not checked';
  readonly reason?: string;
}

/** A line per target (names and reasons escaped by printed): where its ledger is and whether runs may use it, and what is lost if not. */
export function ledgerAccessLines(accesses: readonly TargetLedgerAccess[]): string {
  return accesses
    .map((a) =>
      a.state === 'unavailable' || a.state === 'not checked'
        ? printed`Target ${a.target}: ledger: ${a.state} (${a.reason ?? 'unknown'}): ${LOST_GUARANTEE}` +
          '\n'
        : printed`Target ${a.target}: ledger ${a.ledger}: ${a.state}` + '\n',
    )
    .join('');
}
