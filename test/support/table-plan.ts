import type { TablePlan } from '../../src/plan/types.js';

/** A copyable plan for unit tests, with identifiers that need quoting; override what matters. */
export function tablePlan(overrides: Partial<TablePlan> = {}): TablePlan {
  return {
    targetName: 'one',
    sourceSchema: 'Src Schema',
    sourceTable: 'Order Items',
    targetSchema: 'tgt"schema',
    targetTable: 'select',
    sourceKind: 'r',
    targetKind: 'r',
    mode: 'append',
    strategy: 'stream',
    where: undefined,
    columns: ['id', 'Mixed Case', 'say "hi"'],
    pairs: [],
    skipped: { sourceOnly: [], targetOnly: [] },
    generated: [],
    casts: [],
    overridingSystemValue: false,
    conflictKey: undefined,
    format: 'binary',
    estimatedRows: 0,
    estimatedBytes: 0,
    warnings: [],
    errors: [],
    ...overrides,
  };
}
