import { pairName } from '../plan/types.js';
import type { LockHolder, RunEvent, TableResult } from './events.js';
import { formatMegabytes } from './format.js';

function figures(r: TableResult): string {
  // Attempts only when a table was retried: a first-time success reads as before.
  const attempts = r.attempts !== undefined && r.attempts > 1 ? ` attempts=${r.attempts}` : '';
  const verified = r.verified
    ? ` verified=${r.verified.rows} rows in ${r.verified.seconds.toFixed(3)}s`
    : '';
  const indexes = r.indexes
    ? ` indexes rebuilt=${r.indexes.rebuilt.join(',')} in ${r.indexes.seconds.toFixed(3)}s`
    : '';
  const changes = r.changes
    ? ` inserted=${r.changes.inserted} updated=${r.changes.updated} unchanged=${r.changes.unchanged}`
    : '';
  return `rows=${r.rows}${changes} bytes=${r.bytes} (${formatMegabytes(r.bytes)} MB) seconds=${r.seconds.toFixed(3)}${attempts}${indexes}${verified}`;
}

/** A table about to be tried again, and why. */
export function retryLine(event: Extract<RunEvent, { type: 'table-retry' }>): string {
  const state = event.error.sqlstate ? `[${event.error.sqlstate}] ` : '';
  return `Retrying ${pairName({ targetName: event.ref.target, targetTable: event.ref.table })} (attempt ${event.attempt} of ${event.attempts}, in ${event.delayMs} ms) after: ${state}${event.error.message}`;
}

/** A lock's holder in words; `mode`, when known, is the lock it holds. */
export function holderPhrase(h: LockHolder, mode?: string): string {
  const held = mode === undefined ? '' : `${mode}, `;
  if (h.prepared) {
    const p = h.prepared;
    return `prepared transaction "${p.gid}" (${held}owner ${h.user}, database ${p.database}, prepared ${p.seconds} s ago)`;
  }
  return `pid ${h.pid} (${held}user ${h.user}, application "${h.application}", ${h.state})`;
}

/** A target session waiting on a lock, and who holds it. */
export function waitingLine(event: Extract<RunEvent, { type: 'table-waiting' }>): string {
  const name = pairName({ targetName: event.ref.target, targetTable: event.ref.table });
  const holders = event.holders.map((h) => holderPhrase(h)).join(', ');
  return `Waiting ${event.seconds} s: ${name} is waiting for a lock held by ${holders}`;
}

/** run --resume: a pair skipped (its earlier result stands) or copied again, and why. */
export function resumeLine(event: Extract<RunEvent, { type: 'table-resume' }>): string {
  const name = pairName({ targetName: event.ref.target, targetTable: event.ref.table });
  return `${event.skipped ? 'Skipped' : 'Copying again'} ${name}: ${event.reason}`;
}

/** The run's snapshot was lost: re-exported, or the remaining tables fail. */
export function snapshotLostLine(event: Extract<RunEvent, { type: 'snapshot-lost' }>): string {
  return event.replacement
    ? `Snapshot ${event.snapshot} lost (its coordinator connection ended); re-exported as ${event.replacement}: the run now spans two snapshots`
    : `Snapshot ${event.snapshot} lost (its coordinator connection ended); options.onSnapshotLoss is fail: the remaining tables fail`;
}

/** Prepared parts of split tables an earlier run left on a target, and what became of them. */
export function preparedSettledLine(
  event: Extract<RunEvent, { type: 'prepared-settled' }>,
): string {
  const list = (what: string, gids: readonly string[]): string[] =>
    gids.length > 0 ? [`${what} ${gids.join(', ')}`] : [];
  return `Target ${event.target}: prepared transactions left by an earlier run: ${[
    ...list('committed (their table had committed)', event.committed),
    ...list('rolled back (their table had failed)', event.rolledBack),
    ...list('left alone (their table is still being copied)', event.pending),
  ].join('; ')}`;
}

/** A target's ledger as the run found it. */
export function ledgerLine(event: Extract<RunEvent, { type: 'ledger' }>): string {
  if (!event.available) {
    return `Target ${event.target}: no ledger (${event.reason ?? 'unavailable'}): a re-run with the same run id cannot tell which tables this run committed there`;
  }
  const pruned = event.pruned > 0 ? `; ${event.pruned} row(s) past the retention removed` : '';
  return `Target ${event.target}: ledger ${event.schema}: ${event.committed} table(s) already committed under this run id${pruned}`;
}

/** The audit log's markers, exactly as the ancestor wrote them, followed by the figures. */
export function resultLine(r: TableResult): string {
  const name = pairName({ targetName: r.target, targetTable: r.table });
  if (r.status === 'error') {
    const state = r.error?.sqlstate ? `[${r.error.sqlstate}] ` : '';
    return `❌ Error copying ${name} ${figures(r)} error: ${state}${r.error?.message ?? 'unknown error'}`;
  }
  if (r.status === 'unknown') {
    return `❓ Outcome unknown: ${name} ${figures(r)} reason: ${r.error?.message ?? 'the commit was not answered'}`;
  }
  if (r.status === 'warnings') {
    return `⚠️ Done with warnings: ${name} ${figures(r)} warnings: ${withCodes(r).join('; ')}`;
  }
  const acknowledged = r.warnings.length > 0 ? ` acknowledged: ${withCodes(r).join('; ')}` : '';
  return `✅ Done: ${name} ${figures(r)}${acknowledged}`;
}

/** Each warning's text, followed by its code: `zero rows copied [ZERO_ROWS]`. */
function withCodes(r: TableResult): string[] {
  return r.warnings.map((w, i) => {
    const code = r.warningCodes?.[i];
    return code === undefined ? w : `${w} [${code}]`;
  });
}

/** One audit line per event worth keeping (progress is not), without the timestamp. */
export function auditLine(event: RunEvent): string | undefined {
  switch (event.type) {
    case 'run-start':
      return `Run ${event.runId} started: ${event.pairs} table(s), snapshot ${event.snapshot ?? 'none'}`;
    case 'ledger':
      return ledgerLine(event);
    case 'table-start':
      return `Copying ${event.ref.target}.${event.ref.table} from ${event.ref.source} (${event.mode}, ${event.format})`;
    case 'table-retry':
      return retryLine(event);
    case 'table-resume':
      return resumeLine(event);
    case 'table-waiting':
      return waitingLine(event);
    case 'snapshot-lost':
      return snapshotLostLine(event);
    case 'prepared-settled':
      return preparedSettledLine(event);
    case 'table-done':
    case 'table-failed':
      return resultLine(event.result);
    case 'run-end': {
      const t = event.report.tables;
      const count = (s: TableResult['status']): number => t.filter((r) => r.status === s).length;
      const unknown = count('unknown');
      return `Run ${event.report.runId ?? ''}${event.report.runId ? ' ' : ''}finished: status ${event.report.status}; ${count('done')} done, ${count('warnings')} done with warnings, ${count('error')} error(s)${unknown > 0 ? `, ${unknown} with an unknown outcome` : ''}`;
    }
    default:
      return undefined;
  }
}
