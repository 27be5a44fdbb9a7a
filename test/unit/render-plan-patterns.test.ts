import { describe, expect, it } from 'vitest';
import { planToJson, renderPlan } from '../../src/plan/render-plan.js';
import type { Plan } from '../../src/plan/types.js';
import { quotedNames } from '../../src/plan/name-list.js';

const names = (n: number): string[] =>
  Array.from({ length: n }, (_, i) => `table_${String(i + 1).padStart(3, '0')}`);

const planMatching = (matched: string[]): Plan => ({
  sourceSchema: 'public',
  targets: [{ name: 'db_1', schema: 'public', tables: [] }],
  patterns: [{ target: 'db_1', pattern: '*', matched }],
});

const patternLine = (plan: Plan): string =>
  renderPlan(plan)
    .split('\n')
    .find((line) => line.startsWith('Target db_1: pattern')) ?? '';

describe('bug: the text plan printed every table a pattern matched on one line (5 KB for hundreds)', () => {
  it('lists the first 30 names and counts the rest; plan --json keeps them all', () => {
    const plan = planMatching(names(371));
    const line = patternLine(plan);
    expect(line).toBe(
      `Target db_1: pattern * matched 371 tables: ${names(30).join(', ')} … and 341 more (plan --json lists them all)`,
    );
    expect(line.length).toBeLessThan(600);
    expect(planToJson(plan)).toMatchObject({ patterns: [{ matched: names(371) }] });
  });

  it('lists every name up to 30, as before', () => {
    expect(patternLine(planMatching(names(30)))).toBe(
      `Target db_1: pattern * matched ${names(30).join(', ')}`,
    );
    expect(patternLine(planMatching(['a', 'b']))).toBe('Target db_1: pattern * matched a, b');
  });
});

describe('bug: a group of hundreds of tables was listed whole on its plan line and in every member note (15 KB lines, n² text)', () => {
  const quoted = (list: string[]): string => list.map((n) => `"${n}"`).join(', ');

  it('the group line lists the first 30 names and counts the rest; plan --json keeps them all', () => {
    const plan: Plan = {
      sourceSchema: 'public',
      targets: [
        {
          name: 'db_1',
          schema: 'public',
          tables: [],
          truncateGroups: [{ tables: names(300) }],
          loadGroups: [{ tables: names(40), deferred: true }],
        },
      ],
    };
    const lines = renderPlan(plan).split('\n');
    const truncateLine = lines.find((l) => l.includes('⧉ truncate group')) ?? '';
    expect(truncateLine).toContain(
      `${quoted(names(30))} … and 270 more (plan --json lists them all): one TRUNCATE`,
    );
    expect(truncateLine.length).toBeLessThan(700);
    expect(lines.find((l) => l.includes('⧉ load group'))).toContain('… and 10 more');
    expect(planToJson(plan)).toMatchObject({
      targets: [{ truncateGroups: [{ tables: names(300) }] }],
    });
  });

  it('messages about a group name at most 8 of its tables', () => {
    expect(quotedNames(names(300))).toBe(`${quoted(names(8))} … and 292 more`);
    expect(quotedNames(names(8))).toBe(quoted(names(8)));
  });
});
