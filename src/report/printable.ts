/**
 * Text that came from a database or a config (names, server messages, row values in a detail) is
 * printed and logged through these, so that it can neither forge a line of the audit log nor send
 * escape codes to a terminal. Applied at the output edges (renderers and sinks), not in the engine.
 */

/** C0 and C1 controls (newline, ESC, CSI...), DEL, line/paragraph separators, bidi overrides. */
const UNPRINTABLE = /[\p{Cc}\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;
/** What JSON.stringify leaves raw: everything above but the C0 controls, which it escapes. */
const RAW_IN_JSON = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;

const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function hex(char: string, width: number): string {
  return (char.codePointAt(0) ?? 0).toString(16).padStart(width, '0');
}

/** One line of text with every control character written as an escape (`\n`, `\x1b`, `\u2028`). */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (char) => {
    const named = NAMED[char];
    if (named !== undefined) return named;
    return char <= '\u00ff' ? `\\x${hex(char, 2)}` : `\\u${hex(char, 4)}`;
  });
}

/** A template tag: the literal parts as written, every interpolated value through printable(). */
export function printed(parts: TemplateStringsArray, ...values: readonly unknown[]): string {
  return parts.reduce((out, part, i) => out + printable(String(values[i - 1])) + part);
}

/** JSON.stringify, also escaping what it leaves raw (C1 controls, separators, bidi overrides). */
export function printableJson(value: unknown): string {
  return escapeRawInJson(JSON.stringify(value, null, 2));
}

/** One line of NDJSON: printableJson without indentation, so no raw newline can split it. */
export function printableJsonLine(value: unknown): string {
  return escapeRawInJson(JSON.stringify(value));
}

function escapeRawInJson(json: string): string {
  return json.replace(RAW_IN_JSON, (char) => `\\u${hex(char, 4)}`);
}
