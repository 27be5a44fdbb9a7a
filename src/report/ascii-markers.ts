/**
 * Every marker pgcopy prints, and what it becomes where emoji cannot be shown (`--ascii`, a locale
 * that is not UTF-8). Longer sequences first: `⚠️` is `⚠` followed by a variation selector.
 */
const MARKERS: readonly (readonly [string, string])[] = [
  ['✅', '[OK]'],
  ['⚠️', '[WARN]'],
  ['⚠', '[WARN]'],
  ['❌', '[ERROR]'],
  ['✖', '[ERROR]'],
  ['❓', '[UNKNOWN]'],
  ['ℹ', '[INFO]'],
  ['⧉', '[GROUP]'],
  ['⇉', '[SHARED]'],
  ['↛', '[SEPARATE]'],
  ['⊘', '[MASKED]'],
  ['⏸', '[PREPARED]'],
  ['✓', '[ACK]'],
  ['↔', '<->'],
  ['→', '->'],
  ['↑', '^'],
  ['−', '-'],
  ['…', '...'],
];

/** `text` with each of pgcopy's markers in ASCII; everything else (names, data) unchanged. */
export function asciiMarkers(text: string): string {
  return MARKERS.reduce((out, [marker, ascii]) => out.replaceAll(marker, ascii), text);
}
