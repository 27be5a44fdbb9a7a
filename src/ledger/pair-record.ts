import type { TablePlan } from '../plan/types.js';
import { pairPlanHash } from '../resume/plan-hash.js';
import { VERSION } from '../version.js';
import { recordSql, type LedgerEntry } from './ledger-sql.js';
import type { TargetLedger } from './target-ledger.js';

/** How a pair records itself in its target's ledger: where, and its entry given rows and parts. */
export interface PairRecord {
  readonly schema: string;
  entry(rows: number, preparedParts: readonly string[]): LedgerEntry;
}

/** A pair's record; undefined where its target has no ledger. */
export function pairRecord(
  ledger: TargetLedger | undefined,
  plan: TablePlan,
  runId: string,
  /** pgcopy sync's first copy: the slot position its snapshot corresponds to. */
  sourceLsn?: string,
): PairRecord | undefined {
  if (!ledger?.available) return undefined;
  const planHash = pairPlanHash(plan);
  return {
    schema: ledger.schema,
    entry: (rows, preparedParts) => ({
      runId,
      sourceSchema: plan.sourceSchema,
      sourceTable: plan.sourceTable,
      targetSchema: plan.targetSchema,
      targetTable: plan.targetTable,
      mode: plan.mode,
      rows,
      planHash,
      preparedParts,
      version: VERSION,
      ...(sourceLsn === undefined ? {} : { sourceLsn }),
    }),
  };
}

/** The statements that record the pair, run in its transaction just before its COMMIT. */
export function recordStatements(
  record: PairRecord | undefined,
  rows: number,
  preparedParts: readonly string[] = [],
): string[] {
  return record ? [recordSql(record.schema, record.entry(rows, preparedParts))] : [];
}
