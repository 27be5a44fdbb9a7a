import type { Mode } from '../config/types.js';
import type { Conversion } from './type-conversion.js';

export interface ColumnCast {
  readonly column: string;
  readonly from: string;
  readonly to: string;
}

export interface ColumnPair {
  readonly name: string;
  readonly sourceType: string;
  readonly targetType: string;
  readonly conversion: Conversion;
}

/** What will happen to one source table in one target. */
export interface TablePlan {
  readonly targetName: string;
  readonly sourceSchema: string;
  readonly sourceTable: string;
  readonly targetSchema: string;
  readonly targetTable: string;
  readonly mode: Mode;
  readonly where: string | undefined;
  /** `apply`: the source is read with its row-level security policies applied (config opt-in). */
  readonly rowSecurity?: 'apply';
  /** Columns written, in the source table's order. */
  readonly columns: readonly string[];
  readonly pairs: readonly ColumnPair[];
  readonly skipped: {
    readonly sourceOnly: readonly string[];
    readonly targetOnly: readonly string[];
  };
  /** Target generated columns, never written (also when the source has them). */
  readonly generated: readonly string[];
  readonly casts: readonly ColumnCast[];
  /** The target has a GENERATED ALWAYS identity column among the written ones. */
  readonly overridingSystemValue: boolean;
  /**
   * Written columns that are GENERATED ALWAYS identities on the target: inserted with OVERRIDING
   * SYSTEM VALUE, but an upsert cannot update them (PostgreSQL allows only DEFAULT there).
   */
  readonly identityAlways?: readonly string[];
  /** Target tables of the same target that this one's foreign keys reference: loaded first. */
  readonly loadsAfter?: readonly string[];
  /** upsert: the ON CONFLICT key. */
  readonly conflictKey: readonly string[] | undefined;
  readonly format: 'binary' | 'text';
  readonly estimatedRows: number;
  readonly estimatedBytes: number;
  readonly warnings: readonly string[];
  readonly errors: readonly string[];
}

export interface TargetPlan {
  readonly name: string;
  readonly schema: string;
  readonly tables: readonly TablePlan[];
}

export interface Plan {
  readonly sourceSchema: string;
  readonly targets: readonly TargetPlan[];
}

export function planHasErrors(plan: Plan): boolean {
  return plan.targets.some((t) => t.tables.some((table) => table.errors.length > 0));
}

/** `target.table` as the audit log and summary name a pair. */
export function pairName(table: Pick<TablePlan, 'targetName' | 'targetTable'>): string {
  return `${table.targetName}.${table.targetTable}`;
}
