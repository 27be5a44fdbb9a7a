import { describe, expect, it } from 'vitest';
import { refuseSharedTargetTables } from '../../src/plan/duplicate-targets.js';
import type { TablePlan, TargetPlan } from '../../src/plan/types.js';
import { tablePlan } from '../support/table-plan.js';

const target = (name: string, tables: Partial<TablePlan>[]): TargetPlan => ({
  name,
  schema: 's',
  tables: tables.map((t) => tablePlan({ targetName: name, targetSchema: 's', ...t })),
});

const errorsOf = (targets: readonly TargetPlan[]): string[][][] =>
  targets.map((t) => t.tables.map((table) => [...table.errors]));

describe('refuseSharedTargetTables: two pairs of a run that write one table', () => {
  it('refuses each pair that another target writes in the same database, naming the other target', () => {
    const refused = refuseSharedTargetTables([
      { plan: target('one', [{ targetTable: 't' }, { targetTable: 'u' }]), database: 'db1' },
      { plan: target('two', [{ targetTable: 't', sourceTable: 'x' }]), database: 'db1' },
      // Another database, another schema, or a target not read: another table (or not known).
      { plan: target('three', [{ targetTable: 't' }]), database: 'db2' },
      { plan: target('four', [{ targetTable: 't', targetSchema: 'other' }]), database: 'db1' },
      { plan: target('five', [{ targetTable: 't' }]), database: undefined },
    ]);
    const too = (other: string, source: string): string =>
      `target "${other}" writes this same table too ("s"."t" in the same database, from source table "${source}"): one table cannot be copied into twice in one run (list it in one target only)`;
    expect(errorsOf(refused)).toEqual([
      [[too('two', 'x')], []],
      [[too('one', 'Order Items')]],
      [[]],
      [[]],
      [[]],
    ]);
  });

  it('refuses a table one target takes twice, from two source tables', () => {
    const refused = refuseSharedTargetTables([
      {
        plan: target('one', [
          { targetTable: 't', sourceTable: 'a' },
          { targetTable: 't', sourceTable: 'b' },
        ]),
        database: 'db1',
      },
    ]);
    expect(refused[0]?.tables.map((t) => t.errors.length)).toEqual([1, 1]);
    expect(refused[0]?.tables[0]?.errors[0]).toContain('target "one" writes this same table too');
    expect(refused[0]?.tables[0]?.errors[0]).toContain('from source table "b"');
  });
});
