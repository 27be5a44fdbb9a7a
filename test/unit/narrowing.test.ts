import { describe, expect, it } from 'vitest';
import { narrowing, parseType } from '../../src/plan/narrowing.js';

describe('narrowing: conversions PostgreSQL accepts that can change or refuse a value', () => {
  it('parses a type and its modifiers wherever they stand', () => {
    expect(parseType('numeric(10,2)')).toEqual({ base: 'numeric', modifiers: [10, 2] });
    expect(parseType('timestamp(3) with time zone')).toEqual({
      base: 'timestamp with time zone',
      modifiers: [3],
    });
    expect(parseType('text')).toEqual({ base: 'text', modifiers: [] });
  });

  it('flags fewer digits, smaller integers, shorter lengths and less time precision', () => {
    const cases: [string, string, RegExp][] = [
      ['numeric', 'numeric(5,0)', /fixed number of digits/],
      ['numeric(10,2)', 'numeric(10,0)', /fewer digits after the point \(2 -> 0\)/],
      ['numeric(10,2)', 'numeric(6,2)', /fewer digits before the point \(8 -> 4\)/],
      ['bigint', 'numeric(12,0)', /fewer digits before the point \(19 -> 12\)/],
      ['bigint', 'integer', /smaller integer/],
      ['integer', 'smallint', /smaller integer/],
      ['numeric(10,2)', 'integer', /fractions are rounded/],
      ['double precision', 'real', /fewer significant digits/],
      ['numeric', 'double precision', /binary floating point/],
      ['text', 'character varying(5)', /length limit of 5: longer/],
      ['character varying(20)', 'character varying(5)', /length limit of 5 \(from 20\)/],
      ['character(3)', 'character(1)', /length limit of 1 \(from 3\)/],
      ['timestamp with time zone', 'timestamp without time zone', /offset is dropped/],
      ['timestamp without time zone', 'date', /time of day is dropped/],
      ['timestamp without time zone', 'timestamp(0) without time zone', /\(6 -> 0\)/],
      ['interval(6)', 'interval(3)', /\(6 -> 3\)/],
    ];
    for (const [from, to, reason] of cases)
      expect(narrowing(from, to), `${from} -> ${to}`).toMatch(reason);
  });

  it('leaves widening and unrelated conversions alone', () => {
    const cases: [string, string][] = [
      ['integer', 'bigint'],
      ['smallint', 'numeric(6,0)'],
      ['numeric(5,2)', 'numeric(10,4)'],
      ['numeric(10,2)', 'numeric'],
      ['character varying(5)', 'character varying(20)'],
      ['character varying(5)', 'text'],
      ['integer', 'character varying(3)'],
      ['real', 'double precision'],
      ['timestamp(0) without time zone', 'timestamp without time zone'],
      ['date', 'timestamp with time zone'],
      ['text', 'text'],
    ];
    for (const [from, to] of cases) expect(narrowing(from, to), `${from} -> ${to}`).toBeUndefined();
  });
});
