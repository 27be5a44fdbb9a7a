import type { TablePlan } from '../plan/types.js';
import { pairPlanHash } from '../resume/plan-hash.js';
import { VERSION } from '../version.js';
import { recordSql } from './ledger-sql.js';
import type { TargetLedger } from './target-ledger.js';

/** The statements a pair's transaction runs before its COMMIT to record it, given its rows and parts. */
export type PairRecord = (rows: number, preparedParts: readonly string[]) => readonly string[];

/** How a pair records itself in its target's ledger; undefined where the target has none. */
export function pairRecord(
  ledger: TargetLedger | undefined,
  plan: TablePlan,
  runId: string,
): PairRecord | undefined {
  if (!ledger?.available) return undefined;
  const planHash = pairPlanHash(plan);
  return (rows, preparedParts) => [
    recordSql(ledger.schema, {
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
    }),
  ];
}
