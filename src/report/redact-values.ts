/**
 * Row values out of PostgreSQL's messages, for runs whose messages must carry none (a data rule
 * is configured, or options.redactValues). PostgreSQL puts a value in a message as a quoted string
 * (`invalid input syntax for type integer: "abc"`, `value "x" is out of range`), in a detail's
 * `Key (col)=(value)` or `Failing row contains (...)`, and in a COPY context's `line 3, column
 * email: "value"`. Names it quotes (a column, a constraint, a relation) follow a word that says
 * what they are, and are kept: the message still names the table, the column and the row number.
 */

export const REDACTED = '[value redacted]';

/** Words after which PostgreSQL quotes the name of an object, not a value. */
const NAMED_BY =
  /\b(?:column|columns|relation|constraint|table|index|type|schema|function|domain|sequence|role|database|extension|server|operator|trigger|policy|view|encoding|collation|parameter|wrapper|publication|subscription|cursor|savepoint|statement|tablespace|conversion|aggregate|procedure|rule|language|attribute|partition|mapping|key|enum|identifier|table's|of|on|for)\s*$/i;

/** Every quoted string that is not an object's name, replaced. */
export function redactMessage(text: string): string {
  let out = '';
  let rest = text;
  for (;;) {
    const open = rest.indexOf('"');
    if (open < 0) return out + rest;
    const close = rest.indexOf('"', open + 1);
    if (close < 0) return out + rest.slice(0, open) + `"${REDACTED}"`;
    const before = out + rest.slice(0, open);
    const named = NAMED_BY.test(before);
    out = before + (named ? rest.slice(open, close + 1) : `"${REDACTED}"`);
    rest = rest.slice(close + 1);
  }
}

/** A detail without its values: `Key (email)=([value redacted]) already exists.` */
export function redactDetail(detail: string): string {
  return redactMessage(
    detail
      .replace(/=\(.*\)/s, `=(${REDACTED})`)
      .replace(/(Failing row contains )\(.*\)/s, `$1(${REDACTED})`),
  );
}

/** A context line without the value it quotes: `COPY users, line 3, column email`. */
export function redactContext(where: string): string {
  return where
    .split('\n')
    .map((line) => redactMessage(line.replace(/: ".*$/s, '')))
    .join('\n');
}
