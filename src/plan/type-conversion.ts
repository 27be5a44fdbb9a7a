import type { ColumnInfo } from '../db/catalog.js';

/**
 * How a source column's values reach a target column of another type:
 * - same: identical types; binary COPY is possible.
 * - text: through the text output/input functions (text COPY); may still fail on a value.
 * - incompatible: the text form of one cannot be read as the other.
 */
export type Conversion = 'same' | 'text' | 'incompatible';

const STRING = 'S';
/** Categories where a value's text form reads back into any type of the same category. */
const SELF_CONVERTIBLE = new Set(['N', 'D', 'T', 'S', 'V', 'I', 'G', 'E', 'R', 'B']);
const JSON_TYPES = new Set(['json', 'jsonb']);

function categoriesConvert(from: string, to: string): boolean {
  if (to === STRING || from === STRING) return true;
  return from === to && SELF_CONVERTIBLE.has(from);
}

export function classifyConversion(source: ColumnInfo, target: ColumnInfo): Conversion {
  if (source.type === target.type) return 'same';
  // money's text form carries a currency symbol and separators that no other number type reads.
  if (source.type === 'money' && target.category !== STRING) return 'incompatible';
  // A range's text ([1,5)) is not a multirange's ({[1,5)}), nor the other way round.
  if ((source.typtype === 'm') !== (target.typtype === 'm') && source.category === 'R') {
    return target.category === STRING ? 'text' : 'incompatible';
  }
  if (source.category === 'A' && target.category === 'A') {
    const from = source.elementCategory ?? '';
    const to = target.elementCategory ?? '';
    return from === to || to === STRING || from === STRING ? 'text' : 'incompatible';
  }
  if (JSON_TYPES.has(source.type) && JSON_TYPES.has(target.type)) return 'text';
  // An array's text form ({...}) is only readable as a string or another array.
  if (source.category === 'A' || target.category === 'A') {
    return target.category === STRING ? 'text' : 'incompatible';
  }
  if (source.category === 'U' || target.category === 'U') {
    return target.category === STRING || source.category === STRING ? 'text' : 'incompatible';
  }
  return categoriesConvert(source.category, target.category) ? 'text' : 'incompatible';
}

/**
 * Binary COPY needs the same type on both sides, and no array or composite of a user-defined type:
 * their binary form embeds the type's OID, which differs between databases.
 */
export function binarySafe(source: ColumnInfo, target: ColumnInfo): boolean {
  if (source.type !== target.type) return false;
  if (!source.userDefined) return true;
  return source.typtype !== 'c' && source.category !== 'A' && target.category !== 'A';
}
