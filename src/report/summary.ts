import type { RunReport } from './events.js';
import { formatCount, formatMegabytes, formatRate } from './format.js';
import { printed } from './printable.js';
import { textTable } from './text-table.js';

const STATUS_TEXT = {
  done: 'done',
  warnings: 'done with warnings',
  error: 'error',
  unknown: 'outcome unknown',
} as const;

/** The end-of-run table: target, table, status, rows, MB, MB/s; then the totals. */
export function renderSummary(report: RunReport): string {
  const rows = report.tables.map((t) => [
    t.target,
    t.source === t.table ? t.table : `${t.source} -> ${t.table}`,
    STATUS_TEXT[t.status],
    formatCount(t.rows),
    formatMegabytes(t.bytes),
    formatRate(t.bytes, t.seconds),
  ]);
  const totalRows = report.tables.reduce((n, t) => n + t.rows, 0);
  const totalBytes = report.tables.reduce((n, t) => n + t.bytes, 0);
  const seconds = (Date.parse(report.finishedAt) - Date.parse(report.startedAt)) / 1000;
  let out = textTable(['TARGET', 'TABLE', 'STATUS', 'ROWS', 'MB', 'MB/S'], rows);
  out += `\n${report.tables.length} table(s), ${formatCount(totalRows)} rows, ${formatMegabytes(totalBytes)} MB in ${seconds.toFixed(1)} s: ${report.status}\n`;
  for (const t of report.tables) {
    if (t.changes) {
      const c = t.changes;
      out += printed`  ${t.target}.${t.table} (${t.mode}): ${formatCount(c.inserted)} inserted, ${formatCount(c.updated)} updated, ${formatCount(c.unchanged)} unchanged\n`;
    }
    if (t.indexes) {
      out += printed`  ${t.target}.${t.table}: ${t.indexes.rebuilt.length} index(es) rebuilt in ${t.indexes.seconds.toFixed(1)} s
`;
    }
    if (t.error && t.status === 'unknown')
      out += printed`  ❓ ${t.target}.${t.table}: ${t.error.message}\n`;
    else if (t.error)
      out += printed`  ❌ ${t.target}.${t.table}: ${t.error.sqlstate ? `[${t.error.sqlstate}] ` : ''}${t.error.message}\n`;
  }
  return out;
}
