import { ConfigError, describeError } from '../errors.js';
import { readOperatorFile } from '../operator-files.js';
import type { TablePlan } from '../plan/types.js';
import type { TableResult } from '../report/events.js';
import { reportFileSchema, runReportSchema } from '../report/report-schema.js';
import { resultOf } from '../copy/copy-pair.js';
import { pairPlanHash } from './plan-hash.js';

/** What a resumed run takes from the report: only what decides whether a pair is skipped. */
interface EarlierReport {
  readonly path: string;
  /** Where the report came from, as errors name it (`--resume`, `event.resume`). */
  readonly label: string;
  readonly runId: string | undefined;
  readonly startedAt: string;
  readonly configId: string | undefined;
  readonly tables: readonly Pick<TableResult, 'target' | 'table' | 'status' | 'planHash'>[];
}

/** A pair's fate in a resumed run: skipped (done before) or copied again, and why. */
export interface ResumeDecision {
  readonly skip: TableResult | undefined;
  readonly reason: string;
  /** Neither: the pair fails with this message (whether it committed cannot be told). */
  readonly refuse?: string;
}

/** A pair committed under the run id whose plan has changed since: skipped all the same. */
export const changedPlanWarning =
  'its plan has changed since it was committed under this run id: not copied again (a new run id copies it)';

/**
 * The previous run's report, read for `run --resume FILE`: validated against the report's schema
 * (a file that is not one, or has keys a report never has, is refused), and refused at the start
 * of the run when it was written for other databases than the run's endpoints resolve to.
 */
export class ResumeReport {
  private constructor(private readonly report: EarlierReport) {}

  get path(): string {
    return this.report.path;
  }

  /** The run id the report was written under (absent in a report of an older pgcopy). */
  get runId(): string | undefined {
    return this.report.runId;
  }

  static async read(path: string): Promise<ResumeReport> {
    const text = await readOperatorFile('--resume', path);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new ConfigError(`--resume: ${path} is not JSON: ${describeError(error)}`, {
        cause: error,
      });
    }
    return ResumeReport.fromJson(json, path, '--resume');
  }

  /**
   * A report already parsed (`label` names where it came from in errors: the CLI's --resume, an
   * event's resume), validated against the report's schema.
   */
  static fromJson(json: unknown, path: string, label: string): ResumeReport {
    // The --report file, or the run's report as `run --json` ends it (no `error` when none).
    const asFile = reportFileSchema.safeParse(json);
    const parsed = asFile.success ? asFile : runReportSchema.safeParse(json);
    if (!parsed.success) {
      const issue = asFile.error?.issues[0];
      const at = issue?.path.join('.') ?? '';
      throw new ConfigError(
        `${label}: ${path} is not a pgcopy run report (${at === '' ? '' : `${at}: `}${issue?.message ?? 'invalid'})`,
      );
    }
    const { startedAt, configId, tables, runId } = parsed.data;
    return new ResumeReport({
      path,
      label,
      runId,
      startedAt,
      configId,
      tables: tables.map(({ target, table, status, planHash }) => ({
        target,
        table,
        status,
        ...(planHash === undefined ? {} : { planHash }),
      })),
    });
  }

  /** Refuses a report of another run's databases (`identity`: endpointsIdentity of this run). */
  checkEndpoints(identity: string): void {
    if (this.report.configId !== identity) {
      throw new ConfigError(
        `${this.report.label}: ${this.report.path} was written by a run between other databases (the source or a target resolves elsewhere); refusing to resume from it`,
      );
    }
  }

  decide(plan: TablePlan): ResumeDecision {
    const before = this.report.tables.find(
      (t) => t.target === plan.targetName && t.table === plan.targetTable,
    );
    if (!before) return { skip: undefined, reason: 'not in the report' };
    if (before.status === 'error') return { skip: undefined, reason: 'it failed in the report' };
    if (before.status === 'unknown') {
      // Copying it again could write its rows twice; skipping it could leave them out.
      return {
        skip: undefined,
        reason: 'its outcome is unknown in the report',
        refuse: `its COMMIT's outcome is unknown in ${this.report.path}, and the target has no ledger to tell: look at the target table, then copy it under a new run id if its rows are not in`,
      };
    }
    const changed = before.planHash !== pairPlanHash(plan);
    // Committed once, never again under the same run: a changed plan is said, not copied.
    const warnings = changed ? [changedPlanWarning] : [];
    // This run copies nothing of it: no row count, time or change of the earlier run is its.
    const skip = resultOf(plan, { rows: 0, bytes: 0, seconds: 0, warnings, error: null });
    return {
      skip: { ...skip, resumed: true },
      reason: `done in the report of ${this.report.startedAt}${changed ? `; ${changedPlanWarning}` : ', plan unchanged'}`,
    };
  }
}
