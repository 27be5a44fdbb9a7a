/** Human figures for summaries, progress and the audit log. */

export function formatMegabytes(bytes: number): string {
  return (bytes / 1_000_000).toFixed(1);
}

export function formatRate(bytes: number, seconds: number): string {
  return seconds > 0 ? (bytes / 1_000_000 / seconds).toFixed(1) : '-';
}

/**
 * `1,234,567`. Grouped by hand: the first `toLocaleString` of a process loads ICU's number
 * formats, 15-20 ms of a one-row run.
 */
export function formatCount(n: number): string {
  const rounded = Math.round(n);
  if (!Number.isSafeInteger(rounded)) return rounded.toLocaleString('en-US');
  const digits = String(Math.abs(rounded));
  const groups: string[] = [];
  for (let end = digits.length; end > 0; end -= 3)
    groups.unshift(digits.slice(Math.max(0, end - 3), end));
  return rounded < 0 ? `-${groups.join(',')}` : groups.join(',');
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '-';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}

/** `YYYYMMDD_HHMMSS` in local time, as the audit log's file name has it. */
export function fileStamp(date: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${date.getFullYear()}${p(date.getMonth() + 1)}${p(date.getDate())}_${p(date.getHours())}${p(date.getMinutes())}${p(date.getSeconds())}`;
}

/** `YYYY-MM-DD HH:MM:SS` in local time, at the start of each audit line. */
export function lineStamp(date: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())} ${p(date.getHours())}:${p(date.getMinutes())}:${p(date.getSeconds())}`;
}
