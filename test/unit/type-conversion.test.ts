import { describe, expect, it } from 'vitest';
import type { ColumnInfo } from '../../src/db/catalog.js';
import { binarySafe, classifyConversion } from '../../src/plan/type-conversion.js';

function col(type: string, category: string, more: Partial<ColumnInfo> = {}): ColumnInfo {
  return {
    name: 'c',
    type,
    typeSql: type,
    category,
    elementCategory: undefined,
    typtype: 'b',
    userDefined: false,
    notNull: false,
    hasDefault: false,
    identity: '',
    generated: '',
    ...more,
  };
}

const int4 = col('integer', 'N');
const int8 = col('bigint', 'N');
const numeric = col('numeric(10,2)', 'N');
const text = col('text', 'S');
const varchar20 = col('character varying(20)', 'S');
const bool = col('boolean', 'B');
const date = col('date', 'D');
const timestamptz = col('timestamp with time zone', 'D');
const json = col('json', 'U');
const jsonb = col('jsonb', 'U');
const uuid = col('uuid', 'U');
const inet = col('inet', 'I');
const cidr = col('cidr', 'I');
const int4Array = col('integer[]', 'A', { elementCategory: 'N' });
const int8Array = col('bigint[]', 'A', { elementCategory: 'N' });
const textArray = col('text[]', 'A', { elementCategory: 'S' });
const boolArray = col('boolean[]', 'A', { elementCategory: 'B' });
const mood = col('mood', 'E', { typtype: 'e', userDefined: true });
const moodArray = col('mood[]', 'A', { elementCategory: 'E', userDefined: true });
const domain = col('positive_int', 'N', { typtype: 'd', userDefined: true });
const range = col('floatrange', 'R', { typtype: 'r', userDefined: true });
const composite = col('pair', 'C', { typtype: 'c', userDefined: true });

describe('classifyConversion', () => {
  it('calls identical types the same', () => {
    for (const c of [int4, text, bool, json, int4Array, mood, composite]) {
      expect(classifyConversion(c, c)).toBe('same');
    }
  });

  it('converts within a category and to or from strings through text', () => {
    expect(classifyConversion(int4, int8)).toBe('text');
    expect(classifyConversion(int8, numeric)).toBe('text');
    expect(classifyConversion(varchar20, text)).toBe('text');
    expect(classifyConversion(date, timestamptz)).toBe('text');
    expect(classifyConversion(inet, cidr)).toBe('text');
    expect(classifyConversion(int4, text)).toBe('text');
    expect(classifyConversion(text, bool)).toBe('text');
    expect(classifyConversion(mood, text)).toBe('text');
    expect(classifyConversion(text, mood)).toBe('text');
  });

  it('converts json and jsonb into each other', () => {
    expect(classifyConversion(json, jsonb)).toBe('text');
    expect(classifyConversion(jsonb, json)).toBe('text');
  });

  it('converts arrays whose element categories agree, or into text arrays', () => {
    expect(classifyConversion(int4Array, int8Array)).toBe('text');
    expect(classifyConversion(int4Array, textArray)).toBe('text');
    expect(classifyConversion(textArray, boolArray)).toBe('text');
    expect(classifyConversion(int4Array, boolArray)).toBe('incompatible');
    expect(classifyConversion(int4Array, text)).toBe('text');
    expect(classifyConversion(text, int4Array)).toBe('incompatible');
    expect(classifyConversion(int4, int4Array)).toBe('incompatible');
  });

  it('refuses conversions across categories', () => {
    expect(classifyConversion(bool, int4)).toBe('incompatible');
    expect(classifyConversion(int4, date)).toBe('incompatible');
    expect(classifyConversion(uuid, int4)).toBe('incompatible');
    expect(classifyConversion(json, uuid)).toBe('incompatible');
    expect(classifyConversion(composite, int4)).toBe('incompatible');
  });
});

describe('binarySafe', () => {
  it('needs identical types', () => {
    expect(binarySafe(int4, int4)).toBe(true);
    expect(binarySafe(int4, int8)).toBe(false);
    expect(binarySafe(varchar20, text)).toBe(false);
  });

  it('allows built-in arrays and user-defined enums, domains and ranges', () => {
    expect(binarySafe(int4Array, int4Array)).toBe(true);
    expect(binarySafe(mood, mood)).toBe(true);
    expect(binarySafe(domain, domain)).toBe(true);
    expect(binarySafe(range, range)).toBe(true);
  });

  it('refuses arrays and composites of user-defined types (their binary form embeds OIDs)', () => {
    expect(binarySafe(moodArray, moodArray)).toBe(false);
    expect(binarySafe(composite, composite)).toBe(false);
  });
});
