/**
 * A `where` filter is operator SQL pasted into `WHERE (<filter>\n)`. It must stay one expression of
 * that clause: this scans it as PostgreSQL's lexer would (strings, quoted identifiers, dollar quotes,
 * comments) and refuses a `;`, a `)` that would close the clause early, or an unterminated string or
 * comment that would swallow the closing parenthesis. What passes cannot end the statement it sits
 * in, so it cannot run a statement of its own (a COMMIT, a DROP) in any protocol.
 */
export function whereFilterProblem(filter: string): string | undefined {
  if (filter.trim() === '') return 'is empty';
  let depth = 0;
  let i = 0;
  const n = filter.length;
  while (i < n) {
    const c = filter[i] as string;
    const next = filter[i + 1];
    if (c === '-' && next === '-') {
      const end = filter.indexOf('\n', i);
      i = end === -1 ? n : end + 1;
    } else if (c === '/' && next === '*') {
      const end = blockCommentEnd(filter, i);
      if (end === -1) return 'has an unterminated /* comment';
      i = end;
    } else if (c === "'") {
      const end = quotedEnd(filter, i, isEscapeString(filter, i));
      if (end === -1) return 'has an unterminated string literal';
      i = end;
    } else if (c === '"') {
      const end = quotedEnd(filter, i, false);
      if (end === -1) return 'has an unterminated quoted identifier';
      i = end;
    } else if (c === '$' && !isIdentifierChar(filter[i - 1])) {
      const tag = dollarTag(filter, i);
      if (tag) {
        const end = filter.indexOf(tag, i + tag.length);
        if (end === -1) return `has an unterminated ${tag} quoted string`;
        i = end + tag.length;
      } else i += 1;
    } else if (c === ';') {
      return 'contains ";": a filter is one condition, not statements';
    } else if (c === '(') {
      depth += 1;
      i += 1;
    } else if (c === ')') {
      if (depth === 0) return 'has a ")" without its "(": a filter is one condition';
      depth -= 1;
      i += 1;
    } else i += 1;
  }
  if (depth > 0) return 'has a "(" without its ")"';
  return undefined;
}

/** `$tag$` (or `$$`) opening a dollar-quoted string at `start`; a tag never starts with a digit. */
function dollarTag(text: string, start: number): string | undefined {
  let i = start + 1;
  if (/[0-9]/.test(text[i] ?? '')) return undefined;
  while (i < text.length && text[i] !== '$') {
    if (!/[A-Za-z0-9_\u0080-\uffff]/.test(text[i] ?? '')) return undefined;
    i += 1;
  }
  return i < text.length ? text.slice(start, i + 1) : undefined;
}

function isIdentifierChar(c: string | undefined): boolean {
  return c !== undefined && /[A-Za-z0-9_$\u0080-\uffff]/.test(c);
}

/** E'...' (or e'...'): backslash escapes apply. */
function isEscapeString(text: string, quote: number): boolean {
  const prefix = text[quote - 1];
  return (prefix === 'E' || prefix === 'e') && !isIdentifierChar(text[quote - 2]);
}

/** Index after the closing quote (' or ", doubled inside) of the text quoted at `start`, or -1. */
function quotedEnd(text: string, start: number, backslashEscapes: boolean): number {
  const quote = text[start];
  let i = start + 1;
  while (i < text.length) {
    const c = text[i];
    if (backslashEscapes && c === '\\') i += 2;
    else if (c === quote) {
      if (text[i + 1] === quote) i += 2;
      else return i + 1;
    } else i += 1;
  }
  return -1;
}

/** Index after the end of the (nestable) block comment opened at `start`, or -1. */
function blockCommentEnd(text: string, start: number): number {
  let depth = 0;
  let i = start;
  while (i < text.length) {
    if (text.startsWith('/*', i)) {
      depth += 1;
      i += 2;
    } else if (text.startsWith('*/', i)) {
      depth -= 1;
      i += 2;
      if (depth === 0) return i;
    } else i += 1;
  }
  return -1;
}
