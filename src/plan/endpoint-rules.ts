import type { TableSpec } from '../config/types.js';
import { qualifiedName } from '../db/quote.js';
import {
  sourceRowSecurityProblem,
  targetRowSecurityProblem,
  type RowSecurity,
} from '../db/run-blockers.js';
import type { TablePlan } from './types.js';

/** What the plan learnt about the sessions the run will use, beyond the catalog. */
export interface EndpointFacts {
  readonly sourceRowSecurity: ReadonlyMap<string, RowSecurity>;
  readonly targetRowSecurity: ReadonlyMap<string, RowSecurity>;
  /** Why the target session cannot write, if it cannot. */
  readonly targetReadOnly: string | undefined;
}

/**
 * Row-level security and read-only sessions, as plan errors: the source is read with
 * row_security off (so a policy would make the copy fail, not silently drop rows) unless the
 * table says `rowSecurity: apply`; a target table under a policy refuses COPY FROM.
 */
export function applyEndpointFacts(
  table: TablePlan,
  spec: TableSpec | undefined,
  facts: EndpointFacts,
): TablePlan {
  const errors: string[] = [];
  const warnings: string[] = [];
  const sourceRls = facts.sourceRowSecurity.get(table.sourceTable);
  const sourceName = qualifiedName(table.sourceSchema, table.sourceTable);
  if (sourceRls && spec?.rowSecurity === 'apply') {
    warnings.push(
      `rowSecurity: apply: only the rows that row-level security on ${sourceName} lets ${sourceRls.role} see are copied`,
    );
  } else if (sourceRls) {
    errors.push(sourceRowSecurityProblem(sourceName, sourceRls));
  }
  const targetRls = facts.targetRowSecurity.get(table.targetTable);
  if (targetRls) {
    errors.push(
      targetRowSecurityProblem(qualifiedName(table.targetSchema, table.targetTable), targetRls),
    );
  }
  if (facts.targetReadOnly !== undefined) errors.push(`target: ${facts.targetReadOnly}`);
  if (errors.length === 0 && warnings.length === 0 && spec?.rowSecurity === undefined) return table;
  return {
    ...table,
    ...(spec?.rowSecurity !== undefined ? { rowSecurity: spec.rowSecurity } : {}),
    warnings: [...table.warnings, ...warnings],
    errors: [...table.errors, ...errors],
  };
}
