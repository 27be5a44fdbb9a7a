import { describe, expect, it } from 'vitest';
import type { TableRef } from '../../src/db/catalog.js';
import { withLoadOrder } from '../../src/plan/load-order.js';
import { withCycleGroups, withTruncateGroups } from '../../src/plan/truncate-groups.js';
import type { TablePlan } from '../../src/plan/types.js';
import { tablePlan } from '../support/table-plan.js';

// Bug: a foreign-key cycle in append mode (and every mode but truncate) was only warned about
// ("loaded without ordering") and failed at run time with 23503: these are the plan's rules now.

/** Tables of one target: name -> the tables its foreign keys reference (deferrable when marked). */
type Links = Record<string, readonly (string | { table: string; deferrable: true })[]>;

function planOf(links: Links, overrides: Record<string, Partial<TablePlan>> = {}) {
  const ref = (r: Links[string][number]): TableRef =>
    typeof r === 'string'
      ? { schema: 'public', table: r }
      : { schema: 'public', table: r.table, deferrable: true };
  const referencedBy = (name: string): TableRef[] =>
    Object.entries(links).flatMap(([child, parents]) =>
      parents
        .map(ref)
        .filter((p) => p.table === name && child !== name)
        .map((p) => ({
          schema: 'public',
          table: child,
          ...(p.deferrable ? { deferrable: true as const } : {}),
        })),
    );
  const ordered = withLoadOrder(
    Object.keys(links).map((name) =>
      tablePlan({
        targetName: 'db',
        targetSchema: 'public',
        sourceTable: name,
        targetTable: name,
        mode: 'append',
        ...overrides[name],
      }),
    ),
    (t) => (links[t.targetTable] ?? []).map(ref),
  );
  const truncated = withTruncateGroups(ordered, (t) => referencedBy(t.targetTable));
  const cycles = withCycleGroups(truncated.tables, (t) => referencedBy(t.targetTable));
  const byName = (name: string) => cycles.tables.find((t) => t.targetTable === name) as TablePlan;
  return { ...cycles, truncateGroups: truncated.groups, byName };
}

const REFUSED =
  'foreign keys between "a", "b" form a cycle, and its foreign keys are not DEFERRABLE, so neither table can be loaded before the other: make one DEFERRABLE, set disableTriggers, or leave one out';

describe('foreign-key cycles outside truncate mode (plan rules)', () => {
  it('refuses a cycle whose keys are not DEFERRABLE, without the old warning; the rest keep their order', () => {
    const { groups, byName } = planOf({ a: ['b'], b: ['a'], child: ['a'], other: [] });
    expect(groups).toEqual([]);
    expect(byName('a').errors).toEqual([REFUSED]);
    expect(byName('b').errors).toEqual([REFUSED]);
    expect([...byName('a').warnings, ...byName('b').warnings]).toEqual([]);
    // A table beyond the cycle is no part of it: ordered after it, not warned about.
    expect(byName('child')).toMatchObject({ errors: [], warnings: [], loadsAfter: ['a'] });
    expect(byName('other').errors).toEqual([]);
  });

  it('groups a cycle of DEFERRABLE keys, checked at COMMIT, and says so on each member; members load whole', () => {
    const { groups, byName } = planOf(
      {
        root: [],
        a: [{ table: 'b', deferrable: true }, 'root'],
        b: [{ table: 'a', deferrable: true }],
      },
      { a: { split: { parts: 4, by: 'blocks' } } },
    );
    expect(groups).toEqual([{ tables: ['a', 'b'], deferred: true }]);
    expect(byName('a')).toMatchObject({
      split: {
        parts: 1,
        reason:
          'not split: in a load group (a foreign-key cycle), whose tables load one after another in one transaction',
      },
      errors: [],
      warnings: [],
      loadGroup: ['a', 'b'],
      deferredChecks: true,
      loadsAfter: ['root'],
    });
    expect(byName('b').notes).toContain(
      'load group "a", "b": its foreign keys form a cycle with "a", so it loads with them in one transaction, in this order, so that all of them are loaded or none; the cycle is checked at COMMIT (SET CONSTRAINTS ALL DEFERRED)',
    );
  });

  it('one DEFERRABLE key is enough: the parent of the other key loads first', () => {
    const { groups } = planOf({ b: ['a'], a: [{ table: 'b', deferrable: true }] });
    expect(groups).toEqual([{ tables: ['a', 'b'], deferred: true }]);
  });

  it('groups a cycle whose tables all have disableTriggers (checks off), and refuses it when only some do', () => {
    const off = { disableTriggers: true } as const;
    expect(planOf({ a: ['b'], b: ['a'] }, { a: off, b: off }).groups).toEqual([
      { tables: ['a', 'b'] },
    ]);
    const some = planOf({ a: ['b'], b: ['a'] }, { a: off });
    expect(some.groups).toEqual([]);
    expect(some.byName('b').errors).toEqual([REFUSED]);
  });

  it('every mode but truncate: upsert and insert-new tables of a cycle group too; truncate keeps its own rule', () => {
    const keyed = planOf(
      { a: [{ table: 'b', deferrable: true }], b: [{ table: 'a', deferrable: true }] },
      { a: { mode: 'upsert' }, b: { mode: 'insert-new' } },
    );
    expect(keyed.groups).toEqual([{ tables: ['a', 'b'], deferred: true }]);
    const truncate = planOf(
      { a: [{ table: 'b', deferrable: true }], b: [{ table: 'a', deferrable: true }] },
      { a: { mode: 'truncate' }, b: { mode: 'truncate' } },
    );
    expect(truncate.groups).toEqual([]);
    expect(truncate.truncateGroups).toEqual([{ tables: ['a', 'b'], deferred: true }]);
  });

  it('a longer cycle is named whole; fdw-push cannot join the one transaction', () => {
    const three = planOf({ a: ['c'], b: ['a'], c: ['b'] });
    expect(three.byName('c').errors).toEqual([
      'foreign keys between "a", "b", "c" form a cycle, and its foreign keys are not DEFERRABLE, so no table of it can be loaded before the others: make one DEFERRABLE, set disableTriggers, or leave one out',
    ]);
    const pushed = planOf(
      { a: [{ table: 'b', deferrable: true }], b: [{ table: 'a', deferrable: true }] },
      { a: { strategy: 'fdw-push' } },
    );
    expect(pushed.byName('b').errors).toEqual([
      `foreign keys between "a", "b" form a cycle, whose tables can only load together in one target transaction, which fdw-push (committing through the source's session) cannot join: use another strategy, or leave one out`,
    ]);
  });

  it('a self-reference is no cycle: the table loads on its own, as before', () => {
    const { groups, byName } = planOf({ tree: ['tree'] });
    expect(groups).toEqual([]);
    expect(byName('tree')).toMatchObject({ errors: [], warnings: [] });
    expect(byName('tree').loadGroup).toBeUndefined();
  });
});
