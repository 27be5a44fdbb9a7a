import type { DataRule, MaskKind } from '../config/types.js';
import { quoteIdent, quoteLiteral } from '../db/quote.js';
import { catalogQualifiedTypeSql } from '../db/type-sql.js';

/**
 * The SQL of a data rule: an expression over the source row, evaluated by the source server in
 * the COPY's SELECT, so that the real value never leaves it. Keyed masks digest the value's text
 * with the run's mask key (see digest: built-in functions only, pgcrypto is not needed). The key
 * is read from the session setting
 * MASK_KEY_SETTING, which the session got at connection time (never in a statement's text), once
 * per statement (an uncorrelated scalar subquery is an InitPlan). Every result is cast to the
 * source column's own type, so that the COPY format the plan chose (binary where the types match)
 * still holds.
 */

/** The session setting that holds the derived mask key (hex) on every source session. */
export const MASK_KEY_SETTING = 'pgcopy.mask_key';

/** The source column a rule replaces. */
export interface MaskedColumn {
  /** Its name on the source. */
  readonly name: string;
  /** format_type() without a user type's schema, and as SQL on the source. */
  readonly type: string;
  readonly typeSql: string;
  /** pg_type.typcategory (S string, N numeric, D date/time, I network). */
  readonly category: string;
}

/** The rule's SQL over the column, or why the rule cannot apply to the column's type. */
export type RuleSql = { readonly sql: string } | { readonly error: string };

const KEY = `(SELECT pg_catalog.current_setting(${quoteLiteral(MASK_KEY_SETTING)}))`;

/** The value's text, the same for the same value whatever the column's type or the session's zone. */
function valueText(column: string, type: string): string {
  if (/^timestamp(\(\d\))? with time zone$/.test(type)) {
    return `(${column} AT TIME ZONE 'UTC')::pg_catalog.text`;
  }
  return `${column}::pg_catalog.text`;
}

/**
 * The keyed digest of a value's text, as 32 hex digits (128 bits); NULL for NULL. MD5 of the key
 * followed by the value: the key is secret and of fixed length, so the digest cannot be computed
 * without it (a length extension gives other values' digests, never the key or a value), and a
 * 16-byte key with a short value is one MD5 block, the cheapest keyed digest PostgreSQL 13-17
 * have built in (sha256() costs a third more per value).
 */
function digest(text: string): string {
  return `pg_catalog.md5(${KEY} || ${text})`;
}

/**
 * The digest as a non-negative bigint: hashtextextended() spreads the digest's text over 64
 * bits for a fraction of what parsing its hex costs. It is the hash of hash partitioning, which
 * PostgreSQL keeps the same from version to version (a partitioned table depends on it).
 */
function digestNumber(hash: string): string {
  return `(pg_catalog.hashtextextended(${hash}, 0) & 9223372036854775807)`;
}

/** character varying(n), character(n): at most n characters; undefined when unbounded. */
function maxChars(type: string): number | undefined {
  const match = /^(?:character varying|character|varchar|bpchar)\((\d+)\)$/.exec(type);
  return match ? Number(match[1]) : undefined;
}

const isArray = (c: MaskedColumn): boolean => c.type.endsWith('[]');
const isString = (c: MaskedColumn): boolean => c.category === 'S' && !isArray(c);

/**
 * Each character of the value's text, replaced by `replace` (SQL over `pgcopy_ch`, its code
 * `pgcopy_a` and a keyed byte `pgcopy_b` of its position) or kept: the length and layout stay.
 */
function perCharacter(text: string, replace: string): string {
  // Bytes past the digest's 16 are taken again, shifted by the 16-character block they are in.
  const byte = `(pg_catalog.get_byte(pgcopy_h, ((pgcopy_n - 1) % 16)::pg_catalog.int4) + ((pgcopy_n - 1) / 16)::pg_catalog.int4 * 7)`;
  // Splitting '' gives one empty string: not a character.
  const chars = `SELECT pgcopy_ch, pgcopy_n, pg_catalog.ascii(pgcopy_ch) AS pgcopy_a, ${byte} AS pgcopy_b
    FROM pg_catalog.regexp_split_to_table(${text}, '') WITH ORDINALITY AS pgcopy_c(pgcopy_ch, pgcopy_n),
      (SELECT pg_catalog.decode(${digest(text)}, 'hex') AS pgcopy_h) AS pgcopy_k
    WHERE pgcopy_ch <> ''`;
  return `CASE WHEN ${text} IS NULL THEN NULL ELSE (SELECT coalesce(pg_catalog.string_agg(${replace}, '' ORDER BY pgcopy_n), '') FROM (${chars}) AS pgcopy_chars) END`;
}

const DIGIT = `pg_catalog.chr(48 + pgcopy_b % 10)`;
const UPPER = `pg_catalog.chr(65 + pgcopy_b % 26)`;
const LOWER = `pg_catalog.chr(97 + pgcopy_b % 26)`;
const IS_DIGIT = 'pgcopy_a BETWEEN 48 AND 57';

/** ASCII space and punctuation: the layout of a name or a sentence, kept. */
const KEPT = `(pgcopy_a BETWEEN 9 AND 13 OR pgcopy_a BETWEEN 32 AND 47 OR pgcopy_a BETWEEN 58 AND 64 OR pgcopy_a BETWEEN 91 AND 96 OR pgcopy_a BETWEEN 123 AND 126)`;

type KindSql = (column: string, c: MaskedColumn) => RuleSql;

const needsString =
  (kind: MaskKind, build: (text: string, c: MaskedColumn) => RuleSql): KindSql =>
  (column, c) =>
    isString(c)
      ? build(valueText(column, c.type), c)
      : { error: `mask ${kind} writes text; the column is ${c.type}` };

/** Keyed text of `width` hex digits at most, within the column's length limit. */
function boundedHex(
  kind: MaskKind,
  text: string,
  c: MaskedColumn,
  fixed: number,
  wanted: number,
  least: number,
): { hex: string } | { error: string } {
  const limit = maxChars(c.type);
  const digits = limit === undefined ? wanted : Math.min(wanted, limit - fixed);
  if (digits < least) {
    return {
      error: `mask ${kind} needs at least ${least + fixed} characters; the column is ${c.type}`,
    };
  }
  const hex = digest(text);
  return { hex: digits >= 32 ? hex : `pg_catalog.left(${hex}, ${digits})` };
}

/** Every mask but partial (see partialSql: it takes its own parameters and is not keyed). */
const KINDS: Readonly<Record<Exclude<MaskKind, 'partial'>, KindSql>> = {
  // 'u' + the digest's 32 hex digits (128 bits: unique for unique inputs in practice) + a
  // reserved domain; fewer digits where the column's length limit says so.
  email: needsString('email', (text, c) => {
    const hex = boundedHex('email', text, c, 17, 32, 16);
    return 'error' in hex ? hex : { sql: `'u' || ${hex.hex} || '@example.invalid'` };
  }),
  hash: needsString('hash', (text, c) => {
    const hex = boundedHex('hash', text, c, 0, 32, 16);
    return 'error' in hex ? hex : { sql: hex.hex };
  }),
  phone: needsString('phone', (text) => ({
    sql: perCharacter(text, `CASE WHEN ${IS_DIGIT} THEN ${DIGIT} ELSE pgcopy_ch END`),
  })),
  letter: needsString('letter', (text) => ({
    sql: perCharacter(
      text,
      `CASE WHEN ${IS_DIGIT} THEN ${DIGIT} WHEN ${KEPT} THEN pgcopy_ch WHEN pgcopy_a BETWEEN 65 AND 90 OR (pgcopy_a > 127 AND pg_catalog.lower(pgcopy_ch) <> pgcopy_ch) THEN ${UPPER} ELSE ${LOWER} END`,
    ),
  })),
  int: (column, c) => {
    const n = digestNumber(digest(valueText(column, c.type)));
    if (c.type === 'bigint') return { sql: n };
    if (c.type === 'integer') return { sql: `(${n} % 2147483648)` };
    if (c.type === 'smallint') return { sql: `(${n} % 32768)` };
    // format_type() always prints numeric(p) as numeric(p,0).
    const numeric =
      c.type === 'numeric' ? ['numeric', '18', '0'] : /^numeric\((\d+),(\d+)\)$/.exec(c.type);
    if (numeric) {
      const whole = Number(numeric[1]) - Number(numeric[2]);
      if (whole < 1) return { error: `mask int needs whole digits; the column is ${c.type}` };
      return { sql: `(${n} % ${10n ** BigInt(Math.min(whole, 18))})` };
    }
    return { error: `mask int writes integers; the column is ${c.type}` };
  },
  date: (column, c) => {
    const n = digestNumber(digest(valueText(column, c.type)));
    // Days and seconds in the hundred years from 1940.
    if (c.type === 'date')
      return { sql: `('1940-01-01'::pg_catalog.date + (${n} % 36525)::pg_catalog.int4)` };
    const start = /^timestamp(\(\d\))? with time zone$/.test(c.type)
      ? `'1940-01-01 00:00:00+00'::pg_catalog.timestamptz`
      : /^timestamp(\(\d\))? without time zone$/.test(c.type)
        ? `'1940-01-01 00:00:00'::pg_catalog.timestamp`
        : undefined;
    if (start === undefined) return { error: `mask date writes dates; the column is ${c.type}` };
    return { sql: `(${start} + (${n} % 3155760000) * '1 second'::pg_catalog.interval)` };
  },
  time: (column, c) => {
    if (!/^time(\(\d\))? with(out)? time zone$/.test(c.type)) {
      return { error: `mask time writes times of day; the column is ${c.type}` };
    }
    const n = digestNumber(digest(valueText(column, c.type)));
    return {
      sql: `('00:00:00'::pg_catalog.time + (${n} % 86400) * '1 second'::pg_catalog.interval)`,
    };
  },
  ip: (column, c) => {
    const n = digestNumber(digest(valueText(column, c.type)));
    const address = `('0.0.0.0'::pg_catalog.inet + (${n} % 4294967296))`;
    if (c.type === 'inet' || c.type === 'cidr') return { sql: address };
    if (isString(c)) {
      // The cast to varchar(n) would cut an address short without an error: refuse instead.
      const limit = maxChars(c.type);
      if (limit !== undefined && limit < 15) {
        return { error: `mask ip needs at least 15 characters; the column is ${c.type}` };
      }
      return { sql: `pg_catalog.host(${address})` };
    }
    return { error: `mask ip writes IPv4 addresses; the column is ${c.type}` };
  },
};

/** Keeps the first and last characters, every other one written as `*` (not keyed). */
function partialSql(text: string, first: number, last: number): string {
  const length = `pg_catalog.length(${text})`;
  return `CASE WHEN ${length} <= ${first + last} THEN pg_catalog.repeat('*', ${length}) ELSE pg_catalog.left(${text}, ${first}) || pg_catalog.repeat('*', ${length} - ${first + last}) || pg_catalog.right(${text}, ${last}) END`;
}

/**
 * The select-list expression that writes `rule` in place of column `c` (of the source row),
 * cast to the column's own type; or why the rule does not fit the column.
 */
export function ruleSql(rule: DataRule, c: MaskedColumn): RuleSql {
  const column = quoteIdent(c.name);
  const cast = (sql: string): string => `CAST(${sql} AS ${catalogQualifiedTypeSql(c.typeSql)})`;
  switch (rule.kind) {
    case 'null':
      return { sql: cast('NULL') };
    case 'value': {
      // The explicit cast would cut a longer value short without an error.
      const limit = maxChars(c.type);
      const length = Array.from(rule.value).length;
      if (limit !== undefined && length > limit) {
        return { error: `the value has ${length} characters; the column is ${c.type}` };
      }
      return { sql: cast(quoteLiteral(rule.value)) };
    }
    case 'expression':
      // On its own line's end, as `where` is: a trailing `-- comment` cannot swallow the parenthesis.
      return { sql: cast(`(${rule.expression}\n)`) };
    case 'mask': {
      if (rule.mask === 'partial') {
        if (!isString(c)) return { error: `mask partial writes text; the column is ${c.type}` };
        return {
          sql: cast(partialSql(valueText(column, c.type), rule.first ?? 0, rule.last ?? 4)),
        };
      }
      const built = KINDS[rule.mask](column, c);
      return 'error' in built ? built : { sql: cast(built.sql) };
    }
  }
}

/** The rule in words, as the plan shows it. */
export function describeRule(rule: DataRule): string {
  switch (rule.kind) {
    case 'null':
      return 'null';
    case 'value':
      return 'a fixed value';
    case 'expression':
      return 'an expression';
    case 'mask':
      return rule.mask === 'partial'
        ? `mask partial (first ${rule.first ?? 0}, last ${rule.last ?? 4})`
        : `mask ${rule.mask}`;
  }
}

/** Whether the rule reads options.maskKey. */
export function isKeyed(rule: DataRule): boolean {
  return rule.kind === 'mask' && rule.mask !== 'partial';
}
