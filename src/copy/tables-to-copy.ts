import type { Connectors } from '../db/connectors.js';
import type { TablePlan } from '../plan/types.js';
import type { EventListener, TableError, TableResult } from '../report/events.js';
import type { ResumeDecision, ResumeReport } from '../resume/resume-report.js';
import { createMissingExtensions } from './create-extensions.js';
import { refOf } from './copy-pair.js';
import { groupError } from './truncate-group.js';

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
): ResumeDecision | undefined {
  if (!resume || t.errors.length > 0) return undefined;
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
    readonly signal?: AbortSignal | undefined;
    readonly emit: EventListener;
    readonly record: (t: TablePlan, result: TableResult) => void;
    readonly fail: (t: TablePlan, error: TableError) => void;
  },
): Promise<TablePlan[]> {
  const { emit } = context;
  const resumed = (t: TablePlan): boolean => {
    const decision = resumeDecision(t, all, context.resume);
    if (!decision) return false;
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
