import { resultOf } from '../copy/copy-pair.js';
import type { TablePlan } from '../plan/types.js';
import { pairPlanHash } from '../resume/plan-hash.js';
import { changedPlanWarning, type ResumeDecision } from '../resume/resume-report.js';
import type { Committed, TargetLedger } from './target-ledger.js';

/** The ledger row of a pair under this run id, if its target's ledger has one. */
export function committedPair(
  ledger: TargetLedger | undefined,
  plan: TablePlan,
): Committed | undefined {
  if (!ledger?.available) return undefined;
  return ledger.committed.find(
    (c) => c.targetSchema === plan.targetSchema && c.targetTable === plan.targetTable,
  );
}

/**
 * A re-run under the same run id: a pair the target's ledger records as committed is skipped,
 * whatever a report says and even when its plan changed since (said in a warning); one it does
 * not record is copied. Undefined where the target has no ledger (a report decides there).
 */
export function ledgerDecision(
  ledger: TargetLedger | undefined,
  plan: TablePlan,
  runId: string,
): ResumeDecision | undefined {
  if (!ledger?.available) return undefined;
  const row = committedPair(ledger, plan);
  if (!row) {
    return { skip: undefined, reason: `not in the target's ledger under run ${runId}` };
  }
  const changed = row.planHash !== pairPlanHash(plan);
  const warnings = changed ? [changedPlanWarning] : [];
  const skip = resultOf(plan, { rows: 0, bytes: 0, seconds: 0, warnings, error: null });
  return {
    skip: { ...skip, resumed: true, committedBefore: { at: row.committedAt, rows: row.rows } },
    reason: `committed under run ${runId} at ${row.committedAt} (${row.rows} rows), as the target's ledger records${changed ? `; ${changedPlanWarning}` : ''}`,
  };
}
