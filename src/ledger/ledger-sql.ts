import { qualifiedName, quoteIdent, quoteLiteral } from '../db/quote.js';

/**
 * The ledger: a table of pgcopy's own on each target, one row per pair a run committed, written in
 * the transaction that commits the pair's rows. Whether a pair's rows are in is read here, never
 * inferred from a report.
 */
export const LEDGER_TABLE = 'ledger';

/** Its columns, in the order `recordSql` writes them. */
export const LEDGER_COLUMNS = [
  ['run_id', 'text NOT NULL'],
  ['source_schema', 'text NOT NULL'],
  ['source_table', 'text NOT NULL'],
  ['target_schema', 'text NOT NULL'],
  ['target_table', 'text NOT NULL'],
  ['mode', 'text NOT NULL'],
  ['rows', 'bigint NOT NULL'],
  ['plan_hash', 'text NOT NULL'],
  ['prepared_parts', "text[] NOT NULL DEFAULT '{}'"],
  ['pgcopy_version', 'text NOT NULL'],
  ['committed_at', 'timestamptz NOT NULL DEFAULT clock_timestamp()'],
] as const;

/**
 * `pgcopy sync`'s first copy: the slot position the pair's rows correspond to (its snapshot's
 * consistent point). Nullable, written only by sync, and added to ledgers made before it.
 */
export const SOURCE_LSN_COLUMN = 'source_lsn';

export function ledgerName(schema: string): string {
  return qualifiedName(schema, LEDGER_TABLE);
}

/** The schema and table, made when missing. A pair is committed at most once per run id (the key). */
export function createLedgerSql(schema: string, withSchema: boolean): string {
  const columns = [
    ...LEDGER_COLUMNS.map(([name, type]) => `${quoteIdent(name)} ${type}`),
    `${quoteIdent(SOURCE_LSN_COLUMN)} pg_lsn`,
  ].join(', ');
  return [
    ...(withSchema ? [`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`] : []),
    `CREATE TABLE IF NOT EXISTS ${ledgerName(schema)} (${columns}, PRIMARY KEY (run_id, target_schema, target_table))`,
    `CREATE INDEX IF NOT EXISTS ${quoteIdent(`${LEDGER_TABLE}_committed_at`)} ON ${ledgerName(schema)} (committed_at)`,
  ].join('; ');
}

/** What one committed pair writes into the ledger. */
export interface LedgerEntry {
  readonly runId: string;
  readonly sourceSchema: string;
  readonly sourceTable: string;
  readonly targetSchema: string;
  readonly targetTable: string;
  readonly mode: string;
  readonly rows: number;
  readonly planHash: string;
  /** A split table: the prepared parts that commit with its first part. */
  readonly preparedParts: readonly string[];
  readonly version: string;
  /** pgcopy sync's first copy: the slot's consistent point (an LSN as PostgreSQL writes it). */
  readonly sourceLsn?: string;
}

/** A ledger made before sync gains its source_lsn column (when the role owns the table). */
export function addSourceLsnSql(schema: string): string {
  return `ALTER TABLE ${ledgerName(schema)} ADD COLUMN IF NOT EXISTS ${quoteIdent(SOURCE_LSN_COLUMN)} pg_lsn`;
}

/** The entry's values as literals: sent with the COMMIT in one round trip (simple protocol). */
export function entryValuesSql(entry: LedgerEntry): string {
  const parts = `ARRAY[${entry.preparedParts.map(quoteLiteral).join(', ')}]::text[]`;
  return [
    quoteLiteral(entry.runId),
    quoteLiteral(entry.sourceSchema),
    quoteLiteral(entry.sourceTable),
    quoteLiteral(entry.targetSchema),
    quoteLiteral(entry.targetTable),
    quoteLiteral(entry.mode),
    String(Math.trunc(entry.rows)),
    quoteLiteral(entry.planHash),
    parts,
    quoteLiteral(entry.version),
  ].join(', ');
}

/** The columns recordSql writes (committed_at takes its default). */
export const WRITTEN_COLUMNS = LEDGER_COLUMNS.slice(0, -1).map(([name]) => quoteIdent(name));

/** The entry's INSERT; source_lsn only when it has one, so that older ledgers take the others. */
export function recordSql(schema: string, entry: LedgerEntry, into = ledgerName(schema)): string {
  const lsn = entry.sourceLsn;
  const columns =
    lsn === undefined ? WRITTEN_COLUMNS : [...WRITTEN_COLUMNS, quoteIdent(SOURCE_LSN_COLUMN)];
  const values =
    lsn === undefined
      ? entryValuesSql(entry)
      : `${entryValuesSql(entry)}, ${quoteLiteral(lsn)}::pg_lsn`;
  return `INSERT INTO ${into} (${columns.join(', ')}) VALUES (${values})`;
}

/**
 * The written columns as a foreign table declares them (postgres_fdw sends every column it has:
 * committed_at is left out, so that the target's default fills it).
 */
export function foreignLedgerColumns(withSourceLsn = false): string {
  return [
    ...LEDGER_COLUMNS.slice(0, -1).map(
      ([name, type]) => `${quoteIdent(name)} ${type.replace(/ NOT NULL.*$/, '')}`,
    ),
    ...(withSourceLsn ? [`${quoteIdent(SOURCE_LSN_COLUMN)} pg_lsn`] : []),
  ].join(', ');
}
