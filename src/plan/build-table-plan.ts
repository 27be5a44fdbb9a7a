import type { Mode, Strategy, TableSpec } from '../config/types.js';
import type {
  ColumnInfo,
  ExtensionState,
  TableInfo,
  TableRef,
  TriggerInfo,
  UniqueKey,
} from '../db/catalog.js';
import { narrowing } from './narrowing.js';
import { strategyRules } from './strategy-rules.js';
import { planSequences } from './sequence-rules.js';
import { planTriggers } from './trigger-rules.js';
import { binarySafe, classifyConversion } from './type-conversion.js';
import { applyColumnControl, type MappedColumn } from './column-control.js';
import { planMasks } from './mask-rules.js';
import type { RuleLevels } from '../masking/rule-match.js';
import {
  isKeyedMode,
  sourceColumnName,
  type ColumnCast,
  type ColumnPair,
  type TablePlan,
} from './types.js';

export interface TablePlanInput {
  readonly targetName: string;
  readonly sourceSchema: string;
  readonly targetSchema: string;
  readonly spec: TableSpec;
  readonly mode: Mode;
  /** Notes decided before the table's rules (the run's mode override that this table's mode keeps off). */
  readonly notes?: readonly string[];
  readonly strategy?: Strategy;
  /** The server-side extensions on each side (absent: the strategy's needs are not checked). */
  readonly extensions?: { readonly source: ExtensionState; readonly target: ExtensionState };
  readonly createExtensions?: boolean;
  /** server_version_num of the source: what its postgres_fdw can do (fdw-push). */
  readonly sourceVersion?: number;
  readonly source: TableInfo | undefined;
  readonly target: TableInfo | undefined;
  /** The source rejected the `where` filter (EXPLAIN failed): PostgreSQL's message. */
  readonly whereError?: string | undefined;
  /** The target could not be reached or read: every one of its tables fails with this. */
  readonly targetError?: string | undefined;
  /** Names of schemas that do not exist at all, to say so instead of "table does not exist". */
  readonly missingSchemas?: { readonly source: boolean; readonly target: boolean };
  /** The target database is the source database itself (same server, same database). */
  readonly sameDatabase?: boolean;
  /** The target is `protected` and this run was not given `--allow-truncate` for it. */
  readonly truncateRefused?: boolean;
  /** Source tables this target copies: says whether an inheritance parent's children are copied too. */
  readonly configuredSources?: ReadonlySet<string>;
  /** The config asks to load this table with the target's user triggers off. */
  readonly disableTriggers?: boolean;
  /** Whether the target's role may set session_replication_role (undefined: not known). */
  readonly mayDisableTriggers?: boolean | undefined;
  /** The data rules of the run, the target and the table (absent: none configured). */
  readonly dataRules?: RuleLevels;
  /** Row values stay out of every message (a data rule is configured, or options.redactValues). */
  readonly redactValues?: boolean;
  /** The source rejected a data rule's expression (EXPLAIN failed), by source column. */
  readonly ruleErrors?: ReadonlyMap<string, string>;
}

const WRITABLE_KINDS = new Set(['r', 'p']);
const quoted = (names: readonly string[]): string => names.map((n) => `"${n}"`).join(', ');

function emptyPlan(input: TablePlanInput, errors: string[]): TablePlan {
  return {
    targetName: input.targetName,
    sourceSchema: input.sourceSchema,
    sourceTable: input.spec.source,
    targetSchema: input.targetSchema,
    targetTable: input.spec.target,
    sourceKind: input.source?.kind ?? '',
    targetKind: input.target?.kind ?? '',
    mode: input.mode,
    strategy: input.strategy ?? 'stream',
    where: input.spec.where,
    columns: [],
    pairs: [],
    skipped: { sourceOnly: [], targetOnly: [] },
    generated: [],
    casts: [],
    overridingSystemValue: false,
    conflictKey: undefined,
    format: 'text',
    estimatedRows: input.source?.estimatedRows ?? 0,
    estimatedBytes: input.source?.estimatedBytes ?? 0,
    warnings: [],
    errors,
    ...(input.redactValues ? { redactValues: true as const } : {}),
  };
}

/** Applies every plan rule to one (target, table) pair. Pure: the catalog was read beforehand. */
export function buildTablePlan(input: TablePlanInput): TablePlan {
  const { source, target, spec } = input;
  if (input.targetError !== undefined) return emptyPlan(input, [input.targetError]);
  const missing: string[] = [];
  const absent = (side: 'source' | 'target', schema: string, table: string): string =>
    input.missingSchemas?.[side]
      ? `${side} schema "${schema}" does not exist`
      : `${side} table "${schema}"."${table}" does not exist`;
  if (!source) missing.push(absent('source', input.sourceSchema, spec.source));
  if (!target) missing.push(absent('target', input.targetSchema, spec.target));
  if (!source || !target) return emptyPlan(input, missing);

  const errors: string[] = [];
  const warnings: string[] = [];
  if (!WRITABLE_KINDS.has(target.kind)) {
    errors.push(
      `target "${input.targetSchema}"."${spec.target}" is not a table (relkind ${target.kind})`,
    );
  }
  if (input.whereError !== undefined) errors.push(`where: ${input.whereError}`);
  if (
    input.sameDatabase &&
    input.sourceSchema === input.targetSchema &&
    spec.source === spec.target
  ) {
    errors.push(
      `the target table is the source table itself ("${input.sourceSchema}"."${spec.source}" in the same database)`,
    );
  }
  if (input.mode === 'truncate' && input.truncateRefused) {
    errors.push(
      `truncate: target "${input.targetName}" is protected; pass --allow-truncate ${input.targetName} to empty its tables`,
    );
  }
  const notes: string[] = [...(input.notes ?? [])];
  inheritanceNotes(input, source, target, notes, warnings);

  const control = applyColumnControl(input.targetName, spec, source, target, {
    source: input.sourceSchema,
    target: input.targetSchema,
  });
  errors.push(...control.errors);
  const targetByName = new Map(target.columns.map((c) => [c.name, c]));
  // The names the source feeds, after columns.exclude and columns.rename.
  const sourceNames = new Set(control.mapped.map((m) => m.target));
  const generated = target.columns.filter((c) => c.generated !== '').map((c) => c.name);
  const label = (m: MappedColumn): string =>
    m.source.name === m.target ? m.target : `${m.source.name}" -> "${m.target}`;

  const pairs: ColumnPair[] = [];
  const casts: ColumnCast[] = [];
  const columns: string[] = [];
  const sourceOnly: string[] = [];
  let binary = true;
  let overridingSystemValue = false;
  const identityAlways: string[] = [];
  for (const m of control.mapped) {
    const s = m.source;
    const t = targetByName.get(m.target);
    if (!t) {
      sourceOnly.push(s.name);
      continue;
    }
    if (t.generated !== '') continue;
    const conversion = classifyConversion(s, t);
    pairs.push({
      name: t.name,
      sourceType: s.type,
      targetType: t.type,
      sourceTypeSql: s.typeSql,
      targetTypeSql: t.typeSql,
      conversion,
    });
    if (conversion === 'incompatible') {
      errors.push(`column "${label(m)}": ${s.type} cannot be converted to ${t.type}`);
      continue;
    }
    columns.push(t.name);
    if (conversion === 'text') casts.push({ column: t.name, from: s.type, to: t.type });
    if (!binarySafe(s, t)) binary = false;
    if (t.identity === 'a') {
      overridingSystemValue = true;
      identityAlways.push(t.name);
    }
  }
  const targetOnlyColumns = target.columns.filter(
    (c) => !sourceNames.has(c.name) && c.generated === '',
  );
  const targetOnly = targetOnlyColumns.map((c) => c.name);

  if (sourceOnly.length > 0) warnings.push(`source-only columns skipped: ${quoted(sourceOnly)}`);
  if (targetOnly.length > 0)
    warnings.push(`target-only columns left to their defaults: ${quoted(targetOnly)}`);
  const generatedShared = generated.filter((name) => sourceNames.has(name));
  if (generatedShared.length > 0) {
    warnings.push(`generated target columns not written: ${quoted(generatedShared)}`);
  }
  for (const cast of casts) {
    const loss = narrowing(cast.from, cast.to);
    const from = sourceColumnName(control, cast.column);
    const name = from === cast.column ? cast.column : `${from}" -> "${cast.column}`;
    warnings.push(
      `column "${name}": ${cast.from} -> ${cast.to} converted through text${loss ? `; may lose data: ${loss}` : ''}`,
    );
  }
  // A table without columns still has rows: copied as they are when neither side has a column.
  const columnless = source.columns.length === 0 && target.columns.length === 0;
  if (pairs.length === 0 && !columnless) errors.push('no shared column');
  for (const c of targetOnlyColumns) {
    if (requiresValue(c))
      errors.push(
        `target column "${c.name}" is NOT NULL without a default and the source lacks it`,
      );
  }

  let conflictKey: readonly string[] | undefined;
  let conflictNullsEqual = false;
  if (isKeyedMode(input.mode)) {
    const choice = chooseConflictKey(input.mode, target.keys, new Set(columns));
    conflictKey = choice.key?.columns;
    conflictNullsEqual = choice.key?.nullsNotDistinct ?? false;
    errors.push(...choice.problems);
    const key = new Set(conflictKey);
    for (const name of identityAlways.filter((c) => input.mode === 'upsert' && !key.has(c))) {
      warnings.push(
        `upsert: identity column "${name}" is GENERATED ALWAYS on the target; existing rows keep theirs`,
      );
    }
  }

  const sequences = planSequences(target, columns);
  warnings.push(...sequences.warnings);
  const disableTriggers = input.disableTriggers ?? false;
  const triggers = planTriggers({
    target,
    mode: input.mode,
    disableTriggers,
    mayDisableTriggers: input.mayDisableTriggers,
    ...(input.strategy ? { strategy: input.strategy } : {}),
  });
  warnings.push(...triggers.warnings);
  errors.push(...triggers.errors);
  const strategy = input.strategy ?? 'stream';
  const server = strategyRules({
    strategy,
    targetName: input.targetName,
    mode: input.mode,
    where: spec.where,
    source,
    columns,
    identityAlways,
    disableTriggers,
    extensions: input.extensions ?? { source: 'installed', target: 'installed' },
    createExtensions: input.createExtensions ?? false,
    sourceVersion: input.sourceVersion,
  });
  errors.push(...server.errors);
  notes.push(...server.notes, ...triggers.notes);
  const written = new Set(columns);
  const masked = input.dataRules
    ? planMasks({
        levels: input.dataRules,
        sourceTable: spec.source,
        sourceColumns: source.columns,
        written: control.mapped.filter((m) => written.has(m.target)),
        strategy,
      })
    : { masks: [], errors: [] };
  errors.push(...masked.errors);
  for (const m of masked.masks) {
    const why = input.ruleErrors?.get(m.source);
    if (why !== undefined) errors.push(`column "${m.source}": ${m.from}: ${why}`);
  }

  const sourceGenerated = source.columns.filter((c) => c.generated !== '').map((c) => c.name);
  return {
    ...emptyPlan(input, errors),
    ...(sourceGenerated.length > 0 ? { sourceGenerated } : {}),
    sequences: sequences.sequences,
    triggers: triggers.triggers,
    disableTriggers,
    ...(runsUserCode(target, columns, triggers.triggers) ? { runsUserCode: true as const } : {}),
    columns,
    ...(control.excluded.length > 0 ? { excluded: control.excluded } : {}),
    ...(control.renamed.length > 0 ? { renamed: control.renamed } : {}),
    ...(masked.masks.length > 0 ? { masks: masked.masks } : {}),
    pairs,
    skipped: { sourceOnly, targetOnly },
    generated,
    casts,
    overridingSystemValue,
    identityAlways,
    conflictKey,
    ...(conflictNullsEqual ? { conflictNullsEqual } : {}),
    // The server-side strategies move rows as text, between the servers.
    format: binary && columns.length > 0 && strategy === 'stream' ? 'binary' : 'text',
    createsExtension: server.createsExtension,
    warnings,
    notes,
  };
}

/**
 * Whether loading the table runs code of the target's own (a trigger that fires, a domain's check,
 * a constraint or default that calls a user function): the load then runs under the target
 * session's configured search_path, which that code may rely on (see db/search-path.ts).
 */
function runsUserCode(
  target: TableInfo,
  written: readonly string[],
  firing: readonly TriggerInfo[],
): boolean {
  const names = new Set(written);
  return (
    firing.length > 0 ||
    target.callsUserFunctions === true ||
    target.columns.some((c) => names.has(c.name) && c.typtype === 'd')
  );
}

const columnNames = (names: readonly string[]): string => names.map((n) => `"${n}"`).join(', ');
const tableNames = (refs: readonly TableRef[]): string =>
  refs.map((r) => `"${r.schema}"."${r.table}"`).join(', ');

/**
 * Inheritance children are tables of their own: every statement names the table with ONLY, so a
 * parent's copy reads and truncates its own rows, never its children's. Says so, and warns when
 * the source's children are left out of the run.
 */
function inheritanceNotes(
  input: TablePlanInput,
  source: TableInfo,
  target: TableInfo,
  notes: string[],
  warnings: string[],
): void {
  if (source.inheritanceChildren.length > 0) {
    notes.push(
      `source inheritance parent: only its own rows are copied (ONLY); its children ${tableNames(source.inheritanceChildren)} are tables of their own`,
    );
    const configured = input.configuredSources;
    const left = source.inheritanceChildren.filter(
      (c) => !(c.schema === input.sourceSchema && configured?.has(c.table)),
    );
    if (configured && left.length > 0) {
      warnings.push(
        `inheritance children ${tableNames(left)} of the source table are not in this target's tables: their rows are not copied`,
      );
    }
  }
  if (target.inheritanceChildren.length > 0 && input.mode === 'truncate') {
    notes.push(
      `target inheritance parent: truncate empties this table only (TRUNCATE ONLY); its children ${tableNames(target.inheritanceChildren)} keep their rows`,
    );
  }
}

function sameColumns(a: UniqueKey, b: UniqueKey): boolean {
  return a.columns.length === b.columns.length && a.columns.every((c) => b.columns.includes(c));
}

/**
 * The ON CONFLICT key of an upsert or insert-new: a primary or unique key whose columns are all written, that
 * PostgreSQL accepts as an arbiter (not DEFERRABLE, nor shadowed by a deferrable key on the same
 * columns) and that treats every row as keyed (NOT NULL columns, or NULLS NOT DISTINCT: a NULL
 * would otherwise never conflict, and that row would be inserted again on every run).
 */
function chooseConflictKey(
  mode: 'upsert' | 'insert-new',
  keys: readonly UniqueKey[],
  written: ReadonlySet<string>,
): { key: UniqueKey | undefined; problems: string[] } {
  const candidates = keys.filter((k) => k.columns.every((c) => written.has(c)));
  const refusal = (k: UniqueKey): string | undefined => {
    const name = `key "${k.name}" (${columnNames(k.columns)})`;
    if (k.deferrable || keys.some((o) => o.deferrable && sameColumns(o, k))) {
      return `${mode}: ${name} is DEFERRABLE, and PostgreSQL refuses a deferrable key for ON CONFLICT`;
    }
    if (!k.notNull && !k.nullsNotDistinct) {
      return `${mode}: ${name} allows NULLs, so rows whose key is NULL would be inserted again on every run (make its columns NOT NULL, or the key NULLS NOT DISTINCT)`;
    }
    return undefined;
  };
  const usable = candidates.find((k) => refusal(k) === undefined);
  if (usable) return { key: usable, problems: [] };
  if (candidates.length === 0) {
    return {
      key: undefined,
      problems: [
        `${mode} needs a primary key or unique key on the target whose columns are all copied`,
      ],
    };
  }
  return { key: undefined, problems: candidates.flatMap((k) => refusal(k) ?? []) };
}

function requiresValue(c: ColumnInfo): boolean {
  return c.notNull && !c.hasDefault && c.identity === '' && c.generated === '';
}
