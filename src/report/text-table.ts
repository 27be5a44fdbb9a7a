import { printable } from './printable.js';

/** Left-aligned columns padded to the widest cell; numbers right-aligned; cells made printable. */
export function textTable(
  header: readonly string[],
  cells: readonly (readonly string[])[],
  indent = '',
): string {
  const rows = cells.map((row) => row.map(printable));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const numeric = header.map(
    (_, i) => rows.length > 0 && rows.every((r) => /^-?[\d.,]+$/.test(r[i] ?? '')),
  );
  const line = (cells: readonly string[]): string =>
    indent +
    cells
      .map((c, i) => (numeric[i] ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}
