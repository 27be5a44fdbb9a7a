import type { Config } from '../config/types.js';
import { ConfigError, describeError } from '../errors.js';
import { readOperatorFile } from '../operator-files.js';
import type { TablePlan } from '../plan/types.js';
import type { RunReport, TableResult } from '../report/events.js';
import { configIdentity, pairPlanHash } from './plan-hash.js';

/** A pair's fate in a resumed run: skipped (done before, same plan) or copied again, and why. */
export interface ResumeDecision {
  readonly skip: TableResult | undefined;
  readonly reason: string;
}

/** The previous run's report, read for `run --resume FILE`; refused when another config wrote it. */
export class ResumeReport {
  private constructor(
    readonly path: string,
    private readonly report: RunReport,
  ) {}

  static async read(path: string, config: Config): Promise<ResumeReport> {
    const text = await readOperatorFile('--resume', path);
    let report: RunReport;
    try {
      report = JSON.parse(text) as RunReport;
    } catch (error) {
      throw new ConfigError(`--resume: ${path} is not JSON: ${describeError(error)}`, {
        cause: error,
      });
    }
    // JSON.parse may give null or a scalar: the cast above is only what a report should be.
    if (
      typeof report !== 'object' ||
      (report as unknown) === null ||
      !Array.isArray(report.tables)
    ) {
      throw new ConfigError(`--resume: ${path} is not a pgcopy run report`);
    }
    if (report.configId !== configIdentity(config)) {
      throw new ConfigError(
        `--resume: ${path} was written by a run of another config (other source or targets); refusing to resume from it`,
      );
    }
    return new ResumeReport(path, report);
  }

  decide(plan: TablePlan): ResumeDecision {
    const before = this.report.tables.find(
      (t) => t.target === plan.targetName && t.table === plan.targetTable,
    );
    if (!before) return { skip: undefined, reason: 'not in the report' };
    if (before.status === 'error') return { skip: undefined, reason: 'it failed in the report' };
    if (before.planHash !== pairPlanHash(plan)) {
      return { skip: undefined, reason: 'done in the report, but its plan has changed since' };
    }
    return {
      skip: { ...before, resumed: true },
      reason: `done in the report of ${this.report.startedAt}, plan unchanged`,
    };
  }
}
