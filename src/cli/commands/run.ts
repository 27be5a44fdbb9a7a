import { resolve } from 'node:path';
import { loadCommandConfig } from '../load-command-config.js';
import { writeOperatorFile } from '../../operator-files.js';
import { run } from '../../copy/run.js';
import { ConfigError } from '../../errors.js';
import { renderPlan } from '../../plan/render-plan.js';
import { planHasErrors } from '../../plan/types.js';
import { AuditFile } from '../../report/audit-file.js';
import type { RunEvent } from '../../report/events.js';
import { renderSummary } from '../../report/summary.js';
import { parseCommandArgs } from '../parse-args.js';
import { ProgressRenderer } from '../progress.js';
import { EXIT, type CliIo } from '../io.js';
import { parseMode, requireConfigPath } from './plan.js';

function parseConcurrency(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 64) {
    throw new ConfigError(`--concurrency: expected an integer from 1 to 64, got "${value}"`);
  }
  return n;
}

/** `pgcopy run`: copy every planned table; summary on stdout, progress on stderr, audit log on disk. */
export async function runCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    config: { type: 'string', short: 'c' },
    target: { type: 'string', multiple: true },
    table: { type: 'string', multiple: true },
    mode: { type: 'string' },
    concurrency: { type: 'string' },
    report: { type: 'string' },
    'dry-run': { type: 'boolean' },
    quiet: { type: 'boolean', short: 'q' },
  });
  if (positionals.length > 0)
    throw new ConfigError(`usage: unexpected argument "${positionals[0] ?? ''}"`);
  const config = await loadCommandConfig(requireConfigPath(values.config), io);
  const filters = { targets: values.target, tables: values.table, mode: parseMode(values.mode) };
  const concurrency = parseConcurrency(values.concurrency);
  const dryRun = values['dry-run'] === true;

  const audit = dryRun
    ? undefined
    : new AuditFile(resolve(io.cwd ?? process.cwd(), config.options.logDir));
  const progress = values.quiet
    ? undefined
    : new ProgressRenderer(io.stderr, io.stderr.isTTY === true);
  const onEvent = (event: RunEvent): void => {
    audit?.onEvent(event);
    progress?.onEvent(event);
  };
  try {
    const { plan, report } = await run(config, {
      signal: io.signal,
      onEvent,
      filters,
      concurrency,
      dryRun,
      deps: { env: io.env },
    });
    if (!report) {
      io.stdout.write(renderPlan(plan));
      return planHasErrors(plan) ? EXIT.FAILED : EXIT.OK;
    }
    io.stdout.write(renderSummary(report));
    if (values.report !== undefined) {
      await writeOperatorFile(values.report, JSON.stringify(report, null, 2) + '\n');
      io.stdout.write(`Report: ${values.report}\n`);
    }
    if (audit) io.stdout.write(`Audit log: ${audit.path}\n`);
    if (io.signal?.aborted) return EXIT.INTERRUPTED;
    return report.status === 'error' ? EXIT.FAILED : EXIT.OK;
  } catch (error) {
    audit?.write(`Run failed: ${error instanceof Error ? error.message : String(error)}`);
    throw error;
  } finally {
    progress?.stop();
    await audit?.close();
  }
}
