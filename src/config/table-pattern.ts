/** `*` (any run of characters) and `?` (one character) make a `tables` entry a pattern. */
export function isTablePattern(entry: string): boolean {
  return entry.includes('*') || entry.includes('?');
}

/** A glob as an anchored, case-sensitive RegExp (table names are case-sensitive). */
export function tablePatternRegExp(pattern: string): RegExp {
  const body = Array.from(pattern, (c) =>
    c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.|+()[\]{}]/g, '\\$&'),
  ).join('');
  // eslint-disable-next-line security/detect-non-literal-regexp -- every character is escaped above
  return new RegExp(`^${body}$`, 'su');
}
