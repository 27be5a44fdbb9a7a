import type { PatternMatch } from './expand-patterns.js';
import type { Mode, Strategy } from '../config/types.js';
import type { ExtensionNeed } from './strategy-rules.js';
import type { TriggerInfo } from '../db/catalog.js';
import type { Conversion } from './type-conversion.js';
import type { ReadOncePlan } from './read-once.js';
import type { TruncateGroupPlan } from './truncate-groups.js';
import type { PreparedPlan } from './prepared-waits.js';

export interface ColumnCast {
  readonly column: string;
  readonly from: string;
  readonly to: string;
}

/** `columns.rename`: a source column written into a target column of another name. */
export interface ColumnRename {
  readonly source: string;
  readonly target: string;
}

export interface ColumnPair {
  /** The target column's name (the source's, unless renamed: see TablePlan.renamed). */
  readonly name: string;
  readonly sourceType: string;
  readonly targetType: string;
  /** The types as SQL on their own server (format_type, qualified where needed). */
  readonly sourceTypeSql?: string;
  readonly targetTypeSql?: string;
  readonly conversion: Conversion;
}

/** A written column whose value a data rule replaces on the source (docs/data-rules.md). */
export interface ColumnMask {
  /** The target column (its name in TablePlan.columns). */
  readonly column: string;
  /** The source column the rule reads. */
  readonly source: string;
  /** The rule in words: `mask email`, `null`, `an expression`... */
  readonly rule: string;
  /** The config key that gave the rule: `options.dataRules["*email"]`. */
  readonly from: string;
  /** The select-list expression over the source row that the source evaluates. */
  readonly sql: string;
}

/**
 * A sequence moved past the copied values of a written column once the rows are in: above their
 * maximum, or (descending, a negative increment) below their minimum.
 */
export interface PlannedSequence {
  readonly column: string;
  readonly schema: string;
  readonly name: string;
  readonly descending?: true;
}

/** What will happen to one source table in one target. */
export interface TablePlan {
  readonly targetName: string;
  readonly sourceSchema: string;
  readonly sourceTable: string;
  readonly targetSchema: string;
  readonly targetTable: string;
  /** pg_class.relkind of each side ('' when the table is missing): decides where `ONLY` applies. */
  readonly sourceKind: string;
  readonly targetKind: string;
  /** The source table's generated columns (absent when none): COPY TO cannot name them. */
  readonly sourceGenerated?: readonly string[];
  readonly mode: Mode;
  /** How the rows move: the table's, else the target's, else the run's strategy. */
  readonly strategy: Strategy;
  /** An extension the run creates before this table copies (options.createExtensions). */
  readonly createsExtension?: ExtensionNeed | undefined;
  readonly where: string | undefined;
  /** `apply`: the source is read with its row-level security policies applied (config opt-in). */
  readonly rowSecurity?: 'apply';
  /** Columns written (target names), in the source table's order. */
  readonly columns: readonly string[];
  /** `columns.exclude`: source columns left out, as if the source lacked them. */
  readonly excluded?: readonly string[];
  /** `columns.rename`: source columns written into a target column of another name. */
  readonly renamed?: readonly ColumnRename[];
  /** `dataRules`: written columns whose values are replaced on the source. */
  readonly masks?: readonly ColumnMask[];
  /** No row value reaches a message (a data rule is configured, or options.redactValues). */
  readonly redactValues?: true;
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
  /**
   * The tables of its target loaded together with this one, in one transaction, in load order;
   * this table among them. In truncate mode a truncate group (truncated in one statement, the
   * JSON's `truncateGroup`); in the other modes a foreign-key cycle (the JSON's `loadGroup`).
   */
  readonly loadGroup?: readonly string[];
  /** Its load group loads a foreign-key cycle with its DEFERRABLE keys checked at COMMIT. */
  readonly deferredChecks?: true;
  /** Target tables of the same target that this one's foreign keys reference: loaded first. */
  readonly loadsAfter?: readonly string[];
  /** Sequences owned by, or called from the default of, a written column (never moved back). */
  readonly sequences?: readonly PlannedSequence[];
  /** User triggers of the target that fire during the load (with disableTriggers: those that still do). */
  readonly triggers?: readonly TriggerInfo[];
  /**
   * Loading it runs the target's own code (a firing trigger, a domain's check, a user function in
   * a constraint or default): the load runs under the target session's configured search_path.
   */
  readonly runsUserCode?: true;
  /** Load with `session_replication_role = replica`: user triggers and foreign-key checks off. */
  readonly disableTriggers?: boolean;
  /** upsert and insert-new: the ON CONFLICT key. */
  readonly conflictKey: readonly string[] | undefined;
  /** The conflict key is NULLS NOT DISTINCT: rows whose key holds NULLs conflict like others. */
  readonly conflictNullsEqual?: boolean;
  readonly format: 'binary' | 'text';
  readonly estimatedRows: number;
  readonly estimatedBytes: number;
  readonly warnings: readonly string[];
  /** Warning codes acknowledged for this pair (run, target and table `acknowledge`). */
  readonly acknowledge?: readonly string[];
  /** options.split's decision (absent: split is not configured for this table). */
  readonly split?: SplitPlan;
  /** options.rebuildIndexes' decision (absent: the table is under minBytes, or the setting is false). */
  readonly rebuildIndexes?: IndexRebuildPlan;
  /** What the plan decided that is worth knowing but needs no action (inheritance handled, ...). */
  readonly notes?: readonly string[];
  readonly errors: readonly string[];
}

/** Same-table parallelism: parts > 1 and how the rows are divided; 1 with the reason it stays one stream. */
export interface SplitPlan {
  readonly parts: number;
  /** parts > 1: by ctid block ranges, or by ranges of an integer key (`key`). */
  readonly by?: 'blocks' | 'key';
  /** by key: the source column (single-column, NOT NULL, unique; smallint, integer or bigint). */
  readonly key?: string;
  readonly reason?: string;
}

/** A big table's secondary indexes: dropped for the load and created again before COMMIT, or kept. */
export interface IndexRebuildPlan {
  /** The indexes the plan found to rebuild (empty: none, see reason). The load reads them again. */
  readonly indexes: readonly string[];
  readonly reason?: string;
}

export interface TargetPlan {
  readonly name: string;
  readonly schema: string;
  readonly tables: readonly TablePlan[];
  /** truncate mode: tables connected by foreign keys, replaced together (see TablePlan.loadGroup). */
  readonly truncateGroups?: readonly TruncateGroupPlan[];
  /** The other modes: foreign-key cycles loaded together in one transaction (no TRUNCATE). */
  readonly loadGroups?: readonly TruncateGroupPlan[];
  /** Prepared transactions of the target database holding locks on its planned tables. */
  readonly prepared?: readonly PreparedPlan[];
  /** The target's lockTimeout, where a prepared transaction is listed (how long the run waits). */
  readonly lockTimeoutMs?: number;
}

export interface Plan {
  readonly sourceSchema: string;
  readonly targets: readonly TargetPlan[];
  /** What each `tables` pattern matched in the source schema (absent: the config has none). */
  readonly patterns?: readonly PatternMatch[];
  /** Source tables read once for several targets, and the pairs read on their own (and why). */
  readonly readOnce?: ReadOncePlan;
}

/** upsert and insert-new: the rows go through a staging table into INSERT ... ON CONFLICT (key). */
export function isKeyedMode(mode: Mode): mode is 'upsert' | 'insert-new' {
  return mode === 'upsert' || mode === 'insert-new';
}

/** The data rule's expression written into target column `column`, if one replaces it. */
export function maskOf(plan: Pick<TablePlan, 'masks'>, column: string): ColumnMask | undefined {
  return plan.masks?.find((m) => m.column === column);
}

/** The source column written into target column `column` (its own name unless renamed). */
export function sourceColumnName(plan: Pick<TablePlan, 'renamed'>, column: string): string {
  return plan.renamed?.find((r) => r.target === column)?.source ?? column;
}

export function planHasErrors(plan: Plan): boolean {
  return plan.targets.some((t) => t.tables.some((table) => table.errors.length > 0));
}

/** `target.table` as the audit log and summary name a pair. */
export function pairName(table: Pick<TablePlan, 'targetName' | 'targetTable'>): string {
  return `${table.targetName}.${table.targetTable}`;
}
