import type { RunEvent } from '../report/events.js';

/** One run event as a `--verbose` step, or undefined for the ones it leaves out (progress). */
export function verboseLine(event: RunEvent): string | undefined {
  switch (event.type) {
    case 'plan':
      return `planned ${String(event.plan.targets.reduce((n, t) => n + t.tables.length, 0))} table(s) on ${String(event.plan.targets.length)} target(s)`;
    case 'ledger':
      return `${event.target}: ledger ${event.schema} ${event.available ? `ready (${String(event.committed)} pair(s) committed under this run id)` : `unavailable${event.reason === undefined ? '' : `: ${event.reason}`}`}`;
    case 'run-start':
      return `run ${event.runId}: snapshot ${event.snapshot ?? '(none)'}, ${String(event.pairs)} pair(s)`;
    case 'table-start':
      return `${event.ref.target}.${event.ref.table}: copying from ${event.ref.source} (${event.mode}, ${event.format})`;
    case 'table-retry':
      return `${event.ref.target}.${event.ref.table}: retrying (attempt ${String(event.attempt)} of ${String(event.attempts)}) in ${String(event.delayMs)} ms: ${event.error.message}`;
    case 'table-waiting':
      return `${event.ref.target}.${event.ref.table}: waiting ${String(event.seconds)} s for a lock`;
    case 'table-resume':
      return `${event.ref.target}.${event.ref.table}: ${event.skipped ? 'skipped' : 'copied again'} (${event.reason})`;
    case 'snapshot-lost':
      return `snapshot ${event.snapshot} lost; ${event.replacement === null ? 'no replacement' : `re-exported as ${event.replacement}`}`;
    case 'prepared-settled':
      return `${event.target}: prepared parts settled (${String(event.committed.length)} committed, ${String(event.rolledBack.length)} rolled back)`;
    case 'table-done':
    case 'table-failed':
      return `${event.result.target}.${event.result.table}: ${event.result.status}, ${String(event.result.rows)} row(s)`;
    case 'run-end':
      return `run ended: ${event.report.status}`;
    case 'table-progress':
      return undefined;
  }
}
