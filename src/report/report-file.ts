import { PgcopyError, describeError } from '../errors.js';
import { openReplacementFile, type ReplacementFile } from '../operator-files.js';
import type { RunReport, TableError } from './events.js';
import { printableJson } from './printable.js';

/** Why a run stopped before its tables ran (unreachable source, secret, tunnel, interrupt). */
export function runStoppedError(error: unknown, aborted: boolean): TableError {
  if (aborted) return { code: 'ABORTED', message: 'interrupted before the copy finished' };
  const code = error instanceof PgcopyError ? error.code : 'UNEXPECTED';
  return { code, message: describeError(error) };
}

/** The report of a run that stopped early: no table ran, and `error` says why. */
export function stoppedRunReport(startedAt: Date, finishedAt: Date, error: TableError): RunReport {
  return {
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    status: 'error',
    snapshot: null,
    tables: [],
    error,
  };
}

/**
 * `--report FILE`, opened when the run starts (a path that cannot be written is a usage error
 * before any data moves, not a failure after the tables have committed) and written at its end.
 */
export class ReportFile {
  private constructor(private readonly file: ReplacementFile) {}

  get path(): string {
    return this.file.path;
  }

  static async open(path: string): Promise<ReportFile> {
    return new ReportFile(await openReplacementFile('--report', path));
  }

  /** `error` is null unless the run stopped before its tables ran. */
  async write(report: RunReport): Promise<void> {
    await this.file.commit(printableJson({ ...report, error: report.error ?? null }) + '\n');
  }

  /** A report never written (the process is ending on an error) leaves no file behind. */
  async close(): Promise<void> {
    await this.file.discard();
  }
}
