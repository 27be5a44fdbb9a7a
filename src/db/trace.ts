import type pg from 'pg';

/**
 * Where `--verbose` and `--debug` go: the steps pgcopy takes, and every statement a client sends.
 * Both are optional; the engine calls them and never prints.
 */
export interface Trace {
  /** One step, e.g. `source: connecting to source (u@h:5432/db)`. */
  readonly step?: ((message: string) => void) | undefined;
  /** One statement sent to `endpoint`, already redacted (see redactSql). */
  readonly query?: ((endpoint: string, sql: string) => void) | undefined;
}

/**
 * A quoted identifier (kept: it may hold a quote), or a string literal, an escape string or a
 * dollar-quoted body: each of those holds data, never structure.
 */
const LITERALS =
  /"(?:[^"]|"")*"|\b[Ee]'(?:[^'\\]|\\.|'')*'|'(?:[^']|'')*'|(\$[A-Za-z_][A-Za-z_0-9]*\$|\$\$)[\s\S]*?\1/g;

/**
 * A statement as `--debug` prints it: every string literal (and dollar-quoted body) replaced by
 * `'…'`, so that no password, connection string or row value appears. Parameters are never printed.
 */
export function redactSql(sql: string): string {
  return sql.replace(LITERALS, (literal) =>
    literal.startsWith('"') ? literal : literal.startsWith('$') ? '$…$' : "'…'",
  );
}

/** The text of what `client.query` was given: a string, a config object or a submittable. */
function queryText(arg: unknown): string | undefined {
  if (typeof arg === 'string') return arg;
  if (typeof arg === 'object' && arg !== null && 'text' in arg) {
    const text = arg.text;
    if (typeof text === 'string') return text;
  }
  return undefined;
}

/**
 * Makes `client` report each statement to `query` before sending it: the one place every
 * statement of every client passes (pg's simple, extended, COPY and cursor queries all go
 * through `client.query`).
 */
export function traceQueries(
  client: pg.Client,
  endpoint: string,
  query: (endpoint: string, sql: string) => void,
): void {
  const original = client.query.bind(client) as (...args: unknown[]) => unknown;
  const traced = (...args: unknown[]): unknown => {
    const text = queryText(args[0]);
    if (text !== undefined) query(endpoint, redactSql(text));
    return original(...args);
  };
  // pg's overloads cannot be restated for a wrapper; it forwards exactly what it was given.
  client.query = traced as typeof client.query;
}
