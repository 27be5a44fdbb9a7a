import * as z from 'zod';
import { describeValue } from './describe-value.js';
import { closest } from './closest.js';

/**
 * Building blocks of the config schema: each one validates, describes itself for the JSON schema
 * and words its own failure as `expected <what>, got <value>` (the key path is added when the
 * issues are collected, see issues.ts). A key that is absent fails as `is required`.
 */

/** PostgreSQL truncates identifiers past 63 bytes; a longer name would silently mean another. */
export const MAX_IDENTIFIER_BYTES = 63;

type IssueInput = { readonly input?: unknown };

/** The error function of a schema: `is required` when absent, else what was expected and found. */
export function expected(what: string, required = 'is required'): (issue: IssueInput) => string {
  return (issue) =>
    issue.input === undefined ? required : `expected ${what}, got ${describeValue(issue.input)}`;
}

/** A non-blank string. */
export function text(what = 'a string'): z.ZodString {
  return z.string({ error: expected(what) }).regex(/\S/, { error: expected(what) });
}

/** A name PostgreSQL keeps whole: at most 63 bytes. */
export function identifier(what: string): z.ZodString {
  return text(what).refine((name) => !tooLong(name), {
    error: (issue) => tooLongMessage(String(issue.input)),
  });
}

export function tooLong(name: string): boolean {
  return Buffer.byteLength(name) > MAX_IDENTIFIER_BYTES;
}

export function tooLongMessage(name: string): string {
  return `"${name}" is longer than ${MAX_IDENTIFIER_BYTES} bytes`;
}

/** An integer in a range; digits in a string (`"5432"`, from `${VAR}`) count as one. */
export function integer(min: number, max: number, what = `an integer from ${min} to ${max}`) {
  // zod reports the one branch whose type matched: every check words its failure the same way.
  const error = expected(what);
  const inRange = z.int({ error }).min(min, { error }).max(max, { error });
  const digits = z.string({ error }).regex(/^\d+$/, { error }).transform(Number).pipe(inRange);
  return z.union([inRange, digits], { error });
}

/** Milliseconds in a range, as an integer. */
export function milliseconds(min: number, max: number) {
  return integer(min, max, `milliseconds from ${min} to ${max}`);
}

/**
 * A quantity as PostgreSQL writes one: a whole number and an optional unit (`pattern` captures
 * both; a missing unit is `defaultUnit`), or a plain non-negative integer in that default unit.
 */
export function quantity(spec: {
  readonly pattern: RegExp;
  readonly units: Readonly<Record<string, number>>;
  readonly defaultUnit: string;
  readonly expected: string;
  readonly description: string;
}) {
  const error = expected(spec.expected);
  const text = z
    .string({ error })
    .regex(spec.pattern, { error })
    .transform((v) => {
      // The regex has just matched v, and its unit group admits only the keys of units.
      const [, amount, unit] = spec.pattern.exec(v) as RegExpExecArray;
      return Number(amount) * (spec.units[unit ?? spec.defaultUnit] as number);
    });
  return z.union([z.int({ error }).min(0, { error }), text], { error }).describe(spec.description);
}

/** A duration as PostgreSQL writes one (`500ms`, `2s`, `5min`, `1h`, `1d`) or milliseconds. */
export function duration() {
  return quantity({
    pattern: /^\s*(\d+)\s*(ms|s|min|h|d)?\s*$/,
    units: { ms: 1, s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000 },
    defaultUnit: 'ms',
    expected: 'a duration such as 500ms, 2s, 5min, 1h, or milliseconds',
    description: 'A duration such as 500ms, 2s, 5min, 1h, 1d, or milliseconds.',
  });
}

/** One of a list of words. */
export function choice<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { error: expected(`one of ${values.join(', ')}`) });
}

export function flag(): z.ZodBoolean {
  return z.boolean({ error: expected('true or false') });
}

/**
 * A password or passphrase: a string, or a number written without quotes (YAML reads
 * `password: 83927461` as one). A failure names the type received, never the value.
 */
export function secretText() {
  const error = (issue: IssueInput): string => {
    // A password is never required: absent, it comes from a secret, a service or ~/.pgpass.
    const v = issue.input;
    const got =
      typeof v === 'string'
        ? 'an empty string'
        : typeof v === 'object'
          ? describeValue(v)
          : `a ${typeof v}`;
    return `expected a string, got ${got} (value not shown)`;
  };
  return z.union(
    [
      z.string({ error }).min(1, { error }),
      z.number({ error }).refine(Number.isFinite, { error }).transform(String),
    ],
    { error },
  );
}

/** A list whose items are `item`, with at least one. */
export function list<T extends z.ZodType>(item: T, what: string, atLeastOne?: string) {
  const schema = z.array(item, { error: expected(what) });
  return atLeastOne === undefined
    ? schema
    : schema.min(1, { error: expected(`at least one ${atLeastOne}`) });
}

/**
 * An object with exactly these keys: another key is an error with a "did you mean" guess, one
 * line per key (issues.ts splits them). `what` words a value that is not an object at all.
 */
export function closed<const Shape extends z.ZodRawShape>(shape: Shape, what = 'an object') {
  const allowed = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code !== 'unrecognized_keys') return expected(what)(issue);
      return issue.keys
        .map((key) => {
          const guess = closest(key, allowed);
          const hint = guess === undefined ? '' : `did you mean ${guess}? `;
          return `${key}: unknown key (${hint}expected one of ${allowed.join(', ')})`;
        })
        .join('\n');
    },
  });
}

/** A problem a refinement found, at `path` below the value it checks. */
export function problem(ctx: z.RefinementCtx, message: string, path: PropertyKey[] = []): void {
  ctx.addIssue({ code: 'custom', message, path });
}

/** Keeps the keys whose value is present: the resolved config has no `undefined` or `null`. */
export function present<T extends object>(
  fields: T,
): { [K in keyof T]?: Exclude<T[K], null | undefined> } {
  return Object.fromEntries(
    Object.entries(fields).filter(([, v]) => v !== undefined && v !== null),
  ) as { [K in keyof T]?: Exclude<T[K], null | undefined> };
}
