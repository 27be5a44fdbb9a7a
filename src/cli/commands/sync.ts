import { resolve } from 'node:path';
import { ConfigError, describeError } from '../../errors.js';
import { AuditFile } from '../../report/audit-file.js';
import { formatCount } from '../../report/format.js';
import { printable, printableJsonLine, printed } from '../../report/printable.js';
import { renderSummary } from '../../report/summary.js';
import { sync, type SyncEvent, type SyncReport } from '../../sync/sync.js';
import { dropSync, syncStatus, type SyncStatus } from '../../sync/sync-status.js';
import { appliedLine } from '../../sync/applied-line.js';
import { COMMAND_OPTIONS } from '../command-options.js';
import { EXIT, type CliIo } from '../io.js';
import { loadCommandConfig } from '../load-command-config.js';
import { parseCommandArgs } from '../parse-args.js';
import { ProgressRenderer } from '../progress.js';

const LSN_TEXT = /^[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}$/;

function parseUntil(value: string | undefined, follow: boolean): string | undefined {
  if (value === undefined) return undefined;
  if (follow) throw new ConfigError('--until and --follow exclude each other');
  if (value !== 'now' && !LSN_TEXT.test(value)) {
    throw new ConfigError(
      `--until: expected now or a WAL position such as 16/B374D848, got "${value}"`,
    );
  }
  return value;
}

/**
 * `pgcopy sync`: the first time, creates the slot and copies every table in its snapshot; then
 * applies the source's changes to every target up to --until (default: now) or, with --follow,
 * until SIGINT/SIGTERM (the transaction being applied is finished first). --status and --drop
 * look at or remove the slot and publications.
 */
export async function syncCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, COMMAND_OPTIONS.sync);
  if (positionals.length > 0) {
    throw new ConfigError(`usage: unexpected argument "${positionals[0] ?? ''}"`);
  }
  const follow = values.follow === true;
  const until = parseUntil(values.until, follow);
  const admin = [values.status ? '--status' : '', values.drop ? '--drop' : ''].filter(Boolean);
  if (admin.length > 1) throw new ConfigError('--status and --drop exclude each other');
  if (admin.length === 1 && (follow || until !== undefined)) {
    throw new ConfigError(`${admin[0] ?? ''} takes no --until or --follow`);
  }
  const config = await loadCommandConfig(values.config, io);
  const deps = { env: io.env, trace: io.trace };
  if (values.status) {
    const status = await syncStatus(config, { deps });
    if (values.json) io.stdout.write(printableJsonLine(status) + '\n');
    else io.stdout.write(renderStatus(status));
    for (const w of status.warnings) io.stderr.write(`pgcopy: warning: ${printable(w)}\n`);
    return status.targets.some((t) => t.error !== undefined) ? EXIT.FAILED : EXIT.OK;
  }
  if (values.drop) {
    const dropped = await dropSync(config, { deps });
    if (values.json) io.stdout.write(printableJsonLine(dropped) + '\n');
    else {
      io.stdout.write(
        printed`Slot ${dropped.slot}: ${dropped.slotDropped ? 'dropped' : 'did not exist'}\n`,
      );
      io.stdout.write(
        printed`Publications dropped: ${dropped.publicationsDropped.join(', ') || 'none'}\n`,
      );
      io.stdout.write(
        printed`Positions removed on: ${dropped.targetsCleared.join(', ') || 'no target'}\n`,
      );
    }
    return EXIT.OK;
  }
  const cwd = io.cwd ?? process.cwd();
  const audit = new AuditFile(
    resolve(cwd, config.options.logDir),
    undefined,
    undefined,
    io.ascii === true,
  );
  const liveProgress = io.stderr.isTTY === true && io.env['TERM'] !== 'dumb';
  const progress = values.quiet ? undefined : new ProgressRenderer(io.stderr, liveProgress);
  const text = values.json ? io.stderr : io.stdout;
  let lastDrawn = 0;
  const onEvent = (event: SyncEvent): void => {
    if (event.type === 'sync-copy') {
      audit.onEvent(event.event);
      progress?.onEvent(event.event);
      return;
    }
    if (event.type === 'sync-step') {
      audit.write(event.message);
      if (!values.quiet) io.stderr.write(printed`pgcopy: ${event.message}\n`);
    } else if (event.type === 'sync-warning') {
      audit.write(`warning: ${event.message}`);
      io.stderr.write(printed`pgcopy: warning: ${event.message}\n`);
    } else if (liveProgress && !values.quiet) {
      // One line, redrawn at most four times a second.
      const now = Date.now();
      if (now - lastDrawn < 250) return;
      lastDrawn = now;
      io.stderr.write(
        `\r\u001b[2Kpgcopy: ${formatCount(event.transactions)} transaction(s) applied, at ${event.lsn}`,
      );
    }
  };
  try {
    const { report } = await sync(config, {
      signal: io.signal,
      onEvent,
      deps,
      ...(until === undefined ? {} : { until }),
      follow,
    });
    if (liveProgress && lastDrawn > 0) io.stderr.write('\n');
    for (const t of report.targets) {
      audit.write(`Sync ${t.target}: ${appliedLine(t.applied)}; position ${t.position ?? 'none'}`);
    }
    if (values.json) io.stdout.write(printableJsonLine(report) + '\n');
    text.write(renderSync(report));
    text.write(printed`Audit log: ${audit.path}\n`);
    return report.status === 'ok' ? EXIT.OK : EXIT.FAILED;
  } catch (error) {
    audit.write(`Sync failed: ${describeError(error)}`);
    throw error;
  } finally {
    progress?.stop();
    await audit.close();
  }
}

function renderSync(report: SyncReport): string {
  const lines: string[] = [];
  for (const copy of report.copies) lines.push(renderSummary(copy).trimEnd());
  lines.push(
    `Slot ${report.slot}${report.slotCreated ? ' (created)' : ''}: at ${report.slotPosition ?? 'unknown'}` +
      (report.until === null ? '' : `, synced up to ${report.until}`) +
      (report.stopped ? ' (stopped)' : ''),
  );
  for (const t of report.targets) {
    lines.push(`  ${t.target}: ${appliedLine(t.applied)}; position ${t.position ?? 'none'}`);
  }
  return lines.map(printable).join('\n') + '\n';
}

function renderStatus(status: SyncStatus): string {
  const lines: string[] = [];
  if (!status.exists) {
    lines.push(`Slot ${status.slot}: does not exist (the first pgcopy sync creates it)`);
  } else {
    lines.push(
      `Slot ${status.slot}: at ${status.confirmedFlush ?? 'unknown'}${status.active ? ' (in use)' : ''}; source at ${status.sourcePosition ?? 'unknown'}; lag ${formatCount(status.lagBytes)} bytes; holds ${formatCount(status.heldBytes)} bytes of WAL`,
    );
  }
  lines.push(
    `Publications: ${status.publications.map((p) => `${p.name} (${p.tables} tables)`).join(', ') || 'none'}`,
  );
  for (const t of status.targets) {
    if (t.error !== undefined) lines.push(`  ${t.target}: ${t.error}`);
    else if (t.position === null) lines.push(`  ${t.target}: not followed yet`);
    else
      lines.push(
        `  ${t.target}: ${t.tables} table(s) at ${t.position}; lag ${formatCount(t.lagBytes ?? 0)} bytes, last applied ${t.lastAppliedAt ?? '?'} (${t.lagSeconds ?? '?'} s ago)`,
      );
  }
  return lines.map(printable).join('\n') + '\n';
}
