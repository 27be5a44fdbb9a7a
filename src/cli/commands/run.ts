import { resolve } from 'node:path';
import { loadCommandConfig } from '../load-command-config.js';
import { run } from '../../copy/run.js';
import { ConfigError, describeError } from '../../errors.js';
import { renderPlan, unmatchedPatternWarnings } from '../../plan/render-plan.js';
import { planHasErrors } from '../../plan/types.js';
import { AuditFile } from '../../report/audit-file.js';
import type { RunEvent } from '../../report/events.js';
import { eventToJson } from '../../report/event-json.js';
import { printable, printableJsonLine, printed } from '../../report/printable.js';
import { ReportFile, runStoppedError, stoppedRunReport } from '../../report/report-file.js';
import { renderSummary } from '../../report/summary.js';
import { ResumeReport } from '../../resume/resume-report.js';
import { checkRunId } from '../../run-id.js';
import { parseCommandArgs } from '../parse-args.js';
import { ProgressRenderer } from '../progress.js';
import { verboseLine } from '../verbose-events.js';
import { EXIT, type CliIo } from '../io.js';
import { filtersFrom } from './plan.js';
import { COMMAND_OPTIONS } from '../command-options.js';

function parseConcurrency(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 64) {
    throw new ConfigError(`--concurrency: expected an integer from 1 to 64, got "${value}"`);
  }
  return n;
}

/** --run-id, or the resumed report's; both given, they must agree. */
function runIdOf(given: string | undefined, resume: ResumeReport | undefined): string | undefined {
  if (given === undefined) return undefined;
  const runId = checkRunId(given, '--run-id');
  if (resume?.runId !== undefined && resume.runId !== runId) {
    throw new ConfigError(
      `--run-id ${runId} differs from the run id of ${resume.path} (${resume.runId}): --resume continues that run under its own id; leave out --run-id`,
    );
  }
  return runId;
}

/** `pgcopy run`: copy every planned table; summary on stdout, progress on stderr, audit log on disk. */
export async function runCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, COMMAND_OPTIONS.run);
  const startedAt = new Date();
  if (positionals.length > 0)
    throw new ConfigError(`usage: unexpected argument "${positionals[0] ?? ''}"`);
  const config = await loadCommandConfig(values.config, io);
  const filters = filtersFrom(values);
  const concurrency = parseConcurrency(values.concurrency);
  const dryRun = values['dry-run'] === true;
  const cwd = io.cwd ?? process.cwd();
  // Read before --report opens (and empties) its file: both may name the same report.
  const resume =
    values.resume === undefined ? undefined : await ResumeReport.read(resolve(cwd, values.resume));
  const runId = runIdOf(values['run-id'], resume);

  // Both outputs open before any connection: a path that cannot be written is a usage error
  // (exit 2) while nothing has been copied yet.
  const reportFile =
    dryRun || values.report === undefined
      ? undefined
      : await ReportFile.open(resolve(cwd, values.report));
  let audit: AuditFile | undefined;
  // A terminal that cannot move the cursor (TERM=dumb: Emacs shells, some CI logs) gets the plain
  // per-table lines a pipe gets.
  const liveProgress = io.stderr.isTTY === true && io.env['TERM'] !== 'dumb';
  const progress = values.quiet ? undefined : new ProgressRenderer(io.stderr, liveProgress);
  // --json: stdout carries only the events, one JSON object per line; what people read goes to stderr.
  const text = values.json ? io.stderr : io.stdout;
  const onEvent = (event: RunEvent): void => {
    audit?.onEvent(event);
    progress?.onEvent(event);
    const say = io.trace?.step;
    const step = say ? verboseLine(event) : undefined;
    if (say && step !== undefined) say(step);
    if (values.json) io.stdout.write(printableJsonLine(eventToJson(event)) + '\n');
    // A dry run prints the plan, warnings included; a run says it before copying.
    if (event.type === 'plan' && !dryRun) {
      for (const w of unmatchedPatternWarnings(event.plan)) {
        io.stderr.write(`pgcopy: warning: ${printable(w)}\n`);
      }
    }
  };
  try {
    if (!dryRun) {
      const logDir = resolve(cwd, config.options.logDir);
      audit = new AuditFile(logDir, undefined, undefined, io.ascii === true);
    }
    const { plan, report } = await run(config, {
      signal: io.signal,
      onEvent,
      filters,
      concurrency,
      dryRun,
      verify: values.verify === true,
      resume,
      runId,
      deps: { env: io.env, trace: io.trace },
    });
    if (!report) {
      text.write(renderPlan(plan));
      return planHasErrors(plan) ? EXIT.FAILED : EXIT.OK;
    }
    text.write(renderSummary(report));
    if (reportFile) {
      await reportFile.write(report);
      text.write(printed`Report: ${reportFile.path}\n`);
    }
    if (audit) text.write(printed`Audit log: ${audit.path}\n`);
    // The id that continues this run: `pgcopy run --run-id ID` after any failure.
    if (report.runId !== undefined) text.write(printed`Run id: ${report.runId}\n`);
    if (io.signal?.aborted) return EXIT.INTERRUPTED;
    return report.status === 'error' || report.status === 'unknown' ? EXIT.FAILED : EXIT.OK;
  } catch (error) {
    audit?.write(`Run failed: ${describeError(error)}`);
    if (reportFile) {
      const why = runStoppedError(error, io.signal?.aborted === true);
      await reportFile.write(stoppedRunReport(startedAt, new Date(), why));
      text.write(printed`Report: ${reportFile.path}\n`);
    }
    throw error;
  } finally {
    progress?.stop();
    await reportFile?.close();
    await audit?.close();
  }
}
