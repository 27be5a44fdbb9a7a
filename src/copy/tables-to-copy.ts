import type { Connectors } from '../db/connectors.js';
import type { TablePlan } from '../plan/types.js';
import type { EventListener, TableError, TableResult } from '../report/events.js';
import type { ResumeDecision, ResumeReport } from '../resume/resume-report.js';
import { createMissingExtensions } from './create-extensions.js';
import { refOf } from './copy-pair.js';
import { groupError } from './truncate-group.js';
import { ledgerDecision } from '../ledger/ledger-decision.js';
import type { TargetLedger } from '../ledger/target-ledger.js';

/** What a re-run under a run id goes by: the id, and each target's ledger as the run found it. */
export interface Rerun {
  readonly runId: string;
  readonly ledgers: ReadonlyMap<string, TargetLedger>;
}

/** The other tables of `t`'s truncate group (none when it is not in one). */
export function groupMembers(t: TablePlan, all: readonly TablePlan[]): TablePlan[] {
  const names = t.loadGroup ?? [];
  return names.flatMap(
    (name) => all.find((p) => p.targetName === t.targetName && p.targetTable === name) ?? [],
  );
}

/**
 * run --resume: a pair the report marks done, with the same plan, keeps its earlier result. A
 * truncate group is replaced as a whole: skipped only when every member would be.
 */
function resumeDecision(
  t: TablePlan,
  all: readonly TablePlan[],
  resume: ResumeReport | undefined,
  rerun: Rerun,
): ResumeDecision | undefined {
  if (t.errors.length > 0) return undefined;
  // The target's ledger is the truth of what this run id committed: a report only speaks where
  // there is no ledger, or of another run (one written before run ids).
  const ledger = rerun.ledgers.get(t.targetName);
  const sameRun = !resume || resume.runId === rerun.runId;
  if (sameRun) {
    const decision = ledgerDecision(ledger, t, rerun.runId);
    if (decision) return decision.skip || resume ? decision : undefined;
  }
  if (!resume) return undefined;
  const own = resume.decide(t);
  if (!own.skip || !t.loadGroup) return own;
  const again = groupMembers(t, all).find((m) => !resume.decide(m).skip);
  return again
    ? {
        skip: undefined,
        reason:
          t.mode === 'truncate'
            ? `its truncate group is replaced as a whole, and "${again.targetTable}" is copied again`
            : `its load group is loaded as a whole, and "${again.targetTable}" is copied again`,
      }
    : own;
}

/**
 * The run's first phase: the pairs the plan refused fail, those a resumed report has done keep
 * their result, the extensions the others need are created. Returns the pairs to copy; a truncate
 * group one of whose members cannot be copied is not copied at all.
 */
export async function tablesToCopy(
  all: readonly TablePlan[],
  context: {
    readonly connectors: Connectors;
    readonly resume: ResumeReport | undefined;
    readonly rerun: Rerun;
    readonly signal?: AbortSignal | undefined;
    readonly emit: EventListener;
    readonly record: (t: TablePlan, result: TableResult) => void;
    readonly fail: (t: TablePlan, error: TableError) => void;
  },
): Promise<TablePlan[]> {
  const { emit } = context;
  const refused = new Map<TablePlan, string>();
  const resumed = (t: TablePlan): boolean => {
    const decision = resumeDecision(t, all, context.resume, context.rerun);
    if (!decision) return false;
    if (decision.refuse) {
      refused.set(t, decision.refuse);
      return true;
    }
    emit({
      type: 'table-resume',
      ref: refOf(t),
      skipped: decision.skip !== undefined,
      reason: decision.reason,
    });
    if (decision.skip) context.record(t, decision.skip);
    return decision.skip !== undefined;
  };
  const planned = all.filter((t) => t.errors.length === 0 && !resumed(t));
  for (const t of all.filter((p) => p.errors.length > 0)) {
    context.fail(t, { code: 'PLAN', message: t.errors.join('; ') });
  }
  for (const [t, message] of refused) context.fail(t, { code: 'OUTCOME_UNKNOWN_BEFORE', message });
  const signal = context.signal ? { signal: context.signal } : {};
  const noExtension = await createMissingExtensions(planned, context.connectors, signal);
  for (const [t, error] of noExtension) context.fail(t, error);
  const copyable = planned.filter((t) => !noExtension.has(t));
  return copyable.filter((t) => {
    const missing = groupMembers(t, all).find((m) => !copyable.includes(m));
    if (!missing) return true;
    const error = noExtension.get(missing);
    context.fail(
      t,
      groupError(
        groupMembers(t, all),
        `"${missing.targetTable}" could not be copied${error ? ` (${error.message})` : ''}`,
      ),
    );
    return false;
  });
}
