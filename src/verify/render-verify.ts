import { printable } from '../report/printable.js';
import type { VerifyReport } from './verify-tables.js';

/** One line per pair (✅ match, ❌ mismatch or error) and a total. */
export function renderVerify(report: VerifyReport): string {
  const lines = report.tables.map((t) => {
    const name = `${t.target}.${t.table}`;
    if (t.status === 'match')
      return `✅ ${name}: ${t.sourceRows ?? 0} rows match (${t.seconds.toFixed(3)}s)`;
    return `❌ ${name}: ${t.message ?? t.status}`;
  });
  const bad = report.tables.filter((t) => t.status !== 'match').length;
  lines.push(
    bad === 0
      ? `All ${report.tables.length} table(s) match.`
      : `${bad} of ${report.tables.length} table(s) do not match.`,
  );
  return lines.map((l) => printable(l)).join('\n') + '\n';
}
