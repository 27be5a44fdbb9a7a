import type { FileHandle } from 'node:fs/promises';
import { PgcopyError, describeError } from '../errors.js';
import { openOutputFile } from '../operator-files.js';
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
  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
  ) {}

  static async open(path: string): Promise<ReportFile> {
    return new ReportFile(path, await openOutputFile('--report', path));
  }

  /** `error` is null unless the run stopped before its tables ran. */
  async write(report: RunReport): Promise<void> {
    await this.handle.writeFile(printableJson({ ...report, error: report.error ?? null }) + '\n');
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}
