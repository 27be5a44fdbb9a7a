/**
 * Conversions that PostgreSQL accepts but that can change a value without an error: fewer digits,
 * a shorter length, less time precision, a smaller integer. Decided from the types as format_type()
 * prints them (`numeric(10,2)`, `character varying(20)`, `timestamp(3) with time zone`).
 */

const INTEGER_BYTES: Readonly<Record<string, number>> = { smallint: 2, integer: 4, bigint: 8 };
/** Decimal digits an integer type may need. */
const INTEGER_DIGITS: Readonly<Record<string, number>> = { smallint: 5, integer: 10, bigint: 19 };
const FLOATS = new Set(['real', 'double precision']);
const LENGTH_TYPES = ['character varying', 'character', 'bit varying', 'bit'];
const UNBOUNDED_STRINGS = new Set(['text', 'character varying', 'bit varying', 'name']);
const PRECISION_TYPES = [
  'timestamp with time zone',
  'timestamp without time zone',
  'time with time zone',
  'time without time zone',
  'interval',
];
const DEFAULT_TIME_PRECISION = 6;

interface ParsedType {
  /** The name without its modifier: `numeric`, `character varying`, `timestamp without time zone`. */
  readonly base: string;
  readonly modifiers: readonly number[];
}

/** Splits `timestamp(3) with time zone` into its name and `[3]`. */
export function parseType(type: string): ParsedType {
  const match = /^([^(]*)\(([\d,\s]+)\)(.*)$/.exec(type);
  if (!match) return { base: type, modifiers: [] };
  const [, head = '', mods = '', tail = ''] = match;
  return {
    base: `${head}${tail}`.trim(),
    modifiers: mods.split(',').map((m) => Number(m.trim())),
  };
}

function numericDigits(t: ParsedType): { integer: number; scale: number } | undefined {
  if (t.base === 'numeric') {
    const [precision, scale = 0] = t.modifiers;
    return precision === undefined ? undefined : { integer: precision - scale, scale };
  }
  const digits = INTEGER_DIGITS[t.base];
  return digits === undefined ? undefined : { integer: digits, scale: 0 };
}

function numericNarrowing(s: ParsedType, t: ParsedType): string | undefined {
  const sourceBytes = INTEGER_BYTES[s.base];
  const targetBytes = INTEGER_BYTES[t.base];
  if (targetBytes !== undefined) {
    if (sourceBytes !== undefined) {
      return targetBytes < sourceBytes ? 'a smaller integer type: large values fail' : undefined;
    }
    if (s.base === 'numeric' || FLOATS.has(s.base)) {
      return 'an integer type: fractions are rounded away';
    }
    return undefined;
  }
  if (t.base === 'real' && (s.base === 'double precision' || s.base === 'numeric')) {
    return 'fewer significant digits: values are rounded';
  }
  if (t.base === 'double precision' && (s.base === 'numeric' || s.base === 'bigint')) {
    return 'a binary floating point type: values beyond 15 significant digits are rounded';
  }
  if (t.base !== 'numeric' || t.modifiers.length === 0) return undefined;
  const target = numericDigits(t);
  if (!target) return undefined;
  if (FLOATS.has(s.base)) return 'a fixed number of digits: values are rounded or fail';
  const source = numericDigits(s);
  if (!source && s.base === 'numeric')
    return 'a fixed number of digits: values are rounded or fail';
  if (!source) return undefined;
  if (target.scale < source.scale) {
    return `fewer digits after the point (${source.scale} -> ${target.scale}): values are rounded`;
  }
  if (target.integer < source.integer) {
    return `fewer digits before the point (${source.integer} -> ${target.integer}): large values fail`;
  }
  return undefined;
}

/** The declared length of a length type (`character` and `bit` alone mean 1), else undefined. */
function declaredLength(t: ParsedType): number | undefined {
  if (!LENGTH_TYPES.includes(t.base)) return undefined;
  return t.modifiers[0] ?? (t.base === 'character' || t.base === 'bit' ? 1 : undefined);
}

/** Strings and bit strings only: a number's or a date's text has a length of its own. */
function lengthNarrowing(s: ParsedType, t: ParsedType): string | undefined {
  const targetLength = declaredLength(t);
  if (targetLength === undefined) return undefined;
  const sourceLength = declaredLength(s);
  if (sourceLength === undefined && !UNBOUNDED_STRINGS.has(s.base)) return undefined;
  if (sourceLength !== undefined && sourceLength <= targetLength) return undefined;
  const from = sourceLength === undefined ? '' : ` (from ${sourceLength})`;
  return `a length limit of ${targetLength}${from}: longer values fail`;
}

function timeNarrowing(s: ParsedType, t: ParsedType): string | undefined {
  if (s.base.startsWith('timestamp') && t.base === 'date')
    return 'a date: the time of day is dropped';
  if (s.base === 'timestamp with time zone' && t.base === 'timestamp without time zone') {
    return 'no time zone: the offset is dropped, values shift unless both sides use UTC';
  }
  if (!PRECISION_TYPES.includes(t.base) || !PRECISION_TYPES.includes(s.base)) return undefined;
  const sourcePrecision = s.modifiers[0] ?? DEFAULT_TIME_PRECISION;
  const targetPrecision = t.modifiers[0] ?? DEFAULT_TIME_PRECISION;
  return targetPrecision < sourcePrecision
    ? `fewer fractional second digits (${sourcePrecision} -> ${targetPrecision}): values are rounded`
    : undefined;
}

/** Why a source type's values may be changed or refused by the target type, if they may. */
export function narrowing(sourceType: string, targetType: string): string | undefined {
  if (sourceType === targetType) return undefined;
  const s = parseType(sourceType);
  const t = parseType(targetType);
  return numericNarrowing(s, t) ?? lengthNarrowing(s, t) ?? timeNarrowing(s, t);
}
