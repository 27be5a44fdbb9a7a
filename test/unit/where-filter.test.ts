import { describe, expect, it } from 'vitest';
import { whereFilterProblem } from '../../src/config/where-filter.js';

describe('whereFilterProblem: a filter stays one condition of WHERE (...)', () => {
  it('accepts conditions whatever their strings, identifiers, dollar quotes and comments hold', () => {
    for (const filter of [
      'id > 1',
      "status IN ('a', 'b') AND (x OR y)",
      "v = ')' OR v = ';' OR v = 'it''s'",
      "v = E'\\')' OR v = E'\\\\'",
      'v = $$ ) ; $$ OR v = $a$ $$ ) $a$',
      '"odd)name;" > 0 AND "say ""hi"")" IS NULL',
      'id > 1 -- trailing ) ; comment',
      'id > 1 /* a ) comment /* nested ; */ still comment */',
      'col$1 = 2 AND x$ = 1',
      'id IN (SELECT id FROM other WHERE (a = 1))',
    ]) {
      expect(whereFilterProblem(filter), filter).toBeUndefined();
    }
  });

  it('refuses statements, early closing parentheses and anything that would swallow the closing one', () => {
    expect(whereFilterProblem('true); COMMIT; DROP TABLE t; SELECT (1')).toBe(
      'has a ")" without its "(": a filter is one condition',
    );
    expect(whereFilterProblem('id > 0; DELETE FROM t')).toBe(
      'contains ";": a filter is one condition, not statements',
    );
    expect(whereFilterProblem('(id > 0')).toBe('has a "(" without its ")"');
    expect(whereFilterProblem('id > 0 /* open')).toBe('has an unterminated /* comment');
    expect(whereFilterProblem("v = 'open")).toBe('has an unterminated string literal');
    expect(whereFilterProblem("v = E'open\\'")).toBe('has an unterminated string literal');
    expect(whereFilterProblem('"open = 1')).toBe('has an unterminated quoted identifier');
    expect(whereFilterProblem('v = $x$open')).toBe('has an unterminated $x$ quoted string');
    expect(whereFilterProblem(' \n ')).toBe('is empty');
  });
});
