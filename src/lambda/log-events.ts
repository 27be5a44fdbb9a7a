import { auditLine } from '../report/audit-lines.js';
import type { RunEvent, TableResult } from '../report/events.js';

/** The part of a logger the handler uses; Powertools' Logger is one. */
export interface LogSink {
  info(message: string, attributes: Record<string, unknown>): void;
  warn(message: string, attributes: Record<string, unknown>): void;
  error(message: string, attributes: Record<string, unknown>): void;
}

function tableAttributes(r: TableResult): Record<string, unknown> {
  return {
    target: r.target,
    table: r.table,
    source: r.source,
    status: r.status,
    rows: r.rows,
    bytes: r.bytes,
    seconds: Number(r.seconds.toFixed(3)),
    mode: r.mode,
    format: r.format,
    ...(r.warnings.length > 0 ? { warnings: r.warnings } : {}),
    ...(r.warningCodes ? { warningCodes: r.warningCodes } : {}),
    ...(r.acknowledged ? { acknowledged: r.acknowledged } : {}),
    ...(r.error ? { error: r.error } : {}),
    ...(r.rolledBack ? { rolledBack: r.rolledBack } : {}),
    ...(r.attempts !== undefined ? { attempts: r.attempts } : {}),
  };
}

/** The sink with `fields` on every entry (the run id on each line of an invocation). */
export function withFields(log: LogSink, fields: Readonly<Record<string, unknown>>): LogSink {
  return {
    info: (message, attributes) => log.info(message, { ...attributes, ...fields }),
    warn: (message, attributes) => log.warn(message, { ...attributes, ...fields }),
    error: (message, attributes) => log.error(message, { ...attributes, ...fields }),
  };
}

/**
 * One log entry per run event worth keeping (progress and the plan are not): the audit log's line,
 * with its ✅/⚠️/❌ markers, as the message, and the figures as fields. Events carry no secrets.
 */
export function logRunEvent(log: LogSink, event: RunEvent): void {
  const message = auditLine(event);
  if (message === undefined) return;
  switch (event.type) {
    case 'run-start':
      log.info(message, {
        event: event.type,
        snapshot: event.snapshot,
        pairs: event.pairs,
        estimatedBytes: event.estimatedBytes,
      });
      return;
    case 'table-start':
      log.info(message, {
        event: event.type,
        ...event.ref,
        status: 'copying',
        mode: event.mode,
        format: event.format,
        estimatedRows: event.estimatedRows,
      });
      return;
    case 'table-done':
    case 'table-failed': {
      const attributes = { event: event.type, ...tableAttributes(event.result) };
      const level =
        event.result.status === 'done'
          ? 'info'
          : event.result.status === 'warnings'
            ? 'warn'
            : 'error';
      log[level](message, attributes);
      return;
    }
    case 'run-end': {
      const { tables, status } = event.report;
      const attributes = {
        event: event.type,
        status,
        tables: tables.length,
        rows: tables.reduce((sum, t) => sum + t.rows, 0),
        bytes: tables.reduce((sum, t) => sum + t.bytes, 0),
        seconds: Number(
          (
            (Date.parse(event.report.finishedAt) - Date.parse(event.report.startedAt)) /
            1000
          ).toFixed(3),
        ),
      };
      log[status === 'error' ? 'error' : 'info'](message, attributes);
      return;
    }
    case 'table-retry':
      log.warn(message, {
        event: event.type,
        ...event.ref,
        attempt: event.attempt,
        error: event.error,
      });
      return;
    case 'table-waiting':
      log.warn(message, {
        event: event.type,
        ...event.ref,
        seconds: event.seconds,
        holders: event.holders,
      });
      return;
    case 'prepared-settled':
      log.warn(message, {
        event: event.type,
        target: event.target,
        committed: event.committed,
        rolledBack: event.rolledBack,
        pending: event.pending,
      });
      return;
    case 'snapshot-lost':
      log.warn(message, {
        event: event.type,
        snapshot: event.snapshot,
        replacement: event.replacement,
      });
      return;
    default:
      return;
  }
}
