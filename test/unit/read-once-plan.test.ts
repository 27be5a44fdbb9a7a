import { describe, expect, it } from 'vitest';
import { planReadOnce } from '../../src/plan/read-once.js';
import { readUnits, unitBlockers } from '../../src/copy/fanout/read-units.js';
import { sharedReadColumns } from '../../src/plan/read-columns.js';
import type { TablePlan, TargetPlan } from '../../src/plan/types.js';
import { tablePlan } from '../support/table-plan.js';

const target = (name: string, tables: Partial<TablePlan>[]): TargetPlan => ({
  name,
  schema: 's',
  tables: tables.map((t) =>
    tablePlan({ targetName: name, sourceTable: 'items', targetTable: 'items', ...t }),
  ),
});

describe('planReadOnce: which pairs share one read of their source table', () => {
  it('groups the pairs of a table several targets take, with the union of their columns', () => {
    const plan = planReadOnce(
      [
        target('one', [{ columns: ['id', 'a'] }, { sourceTable: 'solo', targetTable: 'solo' }]),
        target('two', [{ columns: ['id', 'b', 'a'] }]),
        target('three', [{ columns: ['b'] }]),
      ],
      true,
    );
    expect(plan).toEqual({
      enabled: true,
      shared: [
        {
          source: 'items',
          format: 'binary',
          columns: ['id', 'a', 'b'],
          pairs: [
            { target: 'one', table: 'items' },
            { target: 'two', table: 'items' },
            { target: 'three', table: 'items' },
          ],
        },
      ],
      separate: [],
    });
  });

  it('says why a pair is read on its own: strategy, where, format, row security, the same target twice', () => {
    const plan = planReadOnce(
      [
        target('one', [{}, { targetTable: 'items_copy' }]),
        target('two', [{}]),
        target('three', [{ where: 'id > 1' }]),
        target('four', [{ format: 'text' }]),
        target('five', [{ rowSecurity: 'apply' }]),
        target('six', [{ strategy: 'dblink' }]),
        target('seven', [{ errors: ['broken'] }]),
      ],
      true,
    );
    expect(plan.shared.map((r) => r.pairs.map((p) => p.target))).toEqual([['one', 'two']]);
    expect(plan.separate.map((r) => [r.target, r.table, r.reason])).toEqual([
      ['six', 'items', 'strategy dblink moves the rows between the servers'],
      ['one', 'items_copy', 'target one takes the table twice: each copy reads it'],
      ['three', 'items', 'its where filter differs from the other targets'],
      [
        'four',
        'items',
        'it is copied in text format, the others in binary (the column types differ): one read cannot serve both',
      ],
      ['five', 'items', 'row security applies to one of them only'],
    ]);
  });

  it('reads each pair on its own when options.readOnce is false, or when no two can share', () => {
    expect(planReadOnce([target('one', [{}]), target('two', [{}])], false)).toEqual({
      enabled: false,
      shared: [],
      separate: [
        { source: 'items', target: 'one', table: 'items', reason: 'options.readOnce is false' },
        { source: 'items', target: 'two', table: 'items', reason: 'options.readOnce is false' },
      ],
    });
    const apart = planReadOnce([target('one', [{}]), target('two', [{ where: 'false' }])], true);
    expect(apart.separate.map((r) => r.reason)).toEqual([
      'no other target reads it with the stream strategy',
      'its where filter differs from the other targets',
    ]);
  });

  it('bug: two shared reads whose targets load them in opposite orders would wait on each other: one is split', () => {
    // In target one, b loads after a; in target two, a loads after b.
    const targets = [
      target('one', [
        { sourceTable: 'a', targetTable: 'a' },
        { sourceTable: 'b', targetTable: 'b', loadsAfter: ['a'] },
      ]),
      target('two', [
        { sourceTable: 'a', targetTable: 'a', loadsAfter: ['b'] },
        { sourceTable: 'b', targetTable: 'b' },
      ]),
    ];
    const plan = planReadOnce(targets, true);
    expect(plan.shared.map((r) => r.source)).toEqual(['b']);
    expect(plan.separate.map((r) => [r.target, r.source, r.reason])).toEqual([
      ['one', 'a', expect.stringContaining('the targets load it in different orders')],
      ['two', 'a', expect.stringContaining('the targets load it in different orders')],
    ]);
    // The units of the run: b's shared read, then a in each target; none waits on itself.
    const copyable = targets.flatMap((t) => t.tables);
    const units = readUnits(copyable, plan);
    expect(units.map((u) => u.tables.map((t) => `${t.targetName}.${t.targetTable}`))).toEqual([
      ['one.a'],
      ['one.b', 'two.b'],
      ['two.a'],
    ]);
    const parentsOf = (t: TablePlan): TablePlan[] =>
      copyable.filter(
        (p) => p.targetName === t.targetName && t.loadsAfter?.includes(p.targetTable),
      );
    const blockers = unitBlockers(units, parentsOf);
    expect(units.map((u) => blockers(u).map((b) => b.tables[0]?.targetTable))).toEqual([
      [],
      ['a'],
      ['b'],
    ]);
  });

  it('shared reads in the same load order in every target stay shared, however they branch', () => {
    // In both targets, b and c load after a: a diamond of shared reads, no cycle.
    const tables = [
      { sourceTable: 'a', targetTable: 'a' },
      { sourceTable: 'b', targetTable: 'b', loadsAfter: ['a'] },
      { sourceTable: 'c', targetTable: 'c', loadsAfter: ['a', 'b'] },
    ];
    const plan = planReadOnce([target('one', tables), target('two', tables)], true);
    expect(plan.shared.map((r) => r.source)).toEqual(['a', 'b', 'c']);
    expect(plan.separate).toEqual([]);
  });

  it('a shared read of which fewer than two pairs are left to copy (resumed, failed) copies them alone', () => {
    const targets = [target('one', [{ columns: ['id'] }]), target('two', [{ columns: ['x'] }])];
    const plan = planReadOnce(targets, true);
    const [first] = targets[0]?.tables ?? [];
    expect(readUnits(first ? [first] : [], plan)).toEqual([{ tables: [first] }]);
    expect(
      readUnits(
        targets.flatMap((t) => t.tables),
        undefined,
      ),
    ).toHaveLength(2);
  });

  it('bug: members were combined by target column name: the read is keyed by the source column each target column reads', () => {
    // one writes source b into its a (and leaves its a out); two takes a as a; three writes a into x.
    const targets = [
      target('one', [{ columns: ['id', 'a'], renamed: [{ source: 'b', target: 'a' }] }]),
      target('two', [{ columns: ['id', 'a'] }]),
      target('three', [{ columns: ['x', 'id'], renamed: [{ source: 'a', target: 'x' }] }]),
    ];
    const plan = planReadOnce(targets, true);
    expect(plan.shared.map((r) => r.columns)).toEqual([['id', 'b', 'a']]);
    const [unit] = readUnits(
      targets.flatMap((t) => t.tables),
      plan,
    );
    expect(unit?.columns).toEqual([
      { source: 'id', sql: '"id"' },
      { source: 'b', sql: '"b"' },
      { source: 'a', sql: '"a"' },
    ]);
    // Swapped renames read each source column once.
    const swapped = tablePlan({
      columns: ['a', 'b'],
      renamed: [
        { source: 'a', target: 'b' },
        { source: 'b', target: 'a' },
      ],
    });
    expect(sharedReadColumns([swapped, tablePlan({ columns: ['a', 'b'] })])).toEqual([
      { source: 'b', sql: '"b"' },
      { source: 'a', sql: '"a"' },
    ]);
  });
});
