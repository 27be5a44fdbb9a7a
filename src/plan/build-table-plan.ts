import type { Mode, TableSpec } from '../config/types.js';
import type { ColumnInfo, TableInfo } from '../db/catalog.js';
import { planSequences } from './sequence-rules.js';
import { planTriggers } from './trigger-rules.js';
import { binarySafe, classifyConversion } from './type-conversion.js';
import type { ColumnCast, ColumnPair, TablePlan } from './types.js';

export interface TablePlanInput {
  readonly targetName: string;
  readonly sourceSchema: string;
  readonly targetSchema: string;
  readonly spec: TableSpec;
  readonly mode: Mode;
  readonly source: TableInfo | undefined;
  readonly target: TableInfo | undefined;
  /** The source rejected the `where` filter (EXPLAIN failed): PostgreSQL's message. */
  readonly whereError?: string | undefined;
  /** The target could not be reached or read: every one of its tables fails with this. */
  readonly targetError?: string | undefined;
  /** Names of schemas that do not exist at all, to say so instead of "table does not exist". */
  readonly missingSchemas?: { readonly source: boolean; readonly target: boolean };
  /** The config asks to load this table with the target's user triggers off. */
  readonly disableTriggers?: boolean;
  /** Whether the target's role may set session_replication_role (undefined: not known). */
  readonly mayDisableTriggers?: boolean | undefined;
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
    mode: input.mode,
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

  const targetByName = new Map(target.columns.map((c) => [c.name, c]));
  const sourceNames = new Set(source.columns.map((c) => c.name));
  const generated = target.columns.filter((c) => c.generated !== '').map((c) => c.name);

  const pairs: ColumnPair[] = [];
  const casts: ColumnCast[] = [];
  const columns: string[] = [];
  const sourceOnly: string[] = [];
  let binary = true;
  let overridingSystemValue = false;
  const identityAlways: string[] = [];
  for (const s of source.columns) {
    const t = targetByName.get(s.name);
    if (!t) {
      sourceOnly.push(s.name);
      continue;
    }
    if (t.generated !== '') continue;
    const conversion = classifyConversion(s, t);
    pairs.push({ name: s.name, sourceType: s.type, targetType: t.type, conversion });
    if (conversion === 'incompatible') {
      errors.push(`column "${s.name}": ${s.type} cannot be converted to ${t.type}`);
      continue;
    }
    columns.push(s.name);
    if (conversion === 'text') casts.push({ column: s.name, from: s.type, to: t.type });
    if (!binarySafe(s, t)) binary = false;
    if (t.identity === 'a') {
      overridingSystemValue = true;
      identityAlways.push(s.name);
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
    warnings.push(`column "${cast.column}": ${cast.from} -> ${cast.to} converted through text`);
  }
  if (pairs.length === 0) errors.push('no shared column');
  for (const c of targetOnlyColumns) {
    if (requiresValue(c))
      errors.push(
        `target column "${c.name}" is NOT NULL without a default and the source lacks it`,
      );
  }

  if (input.mode === 'truncate' && target.referencedBy.length > 0) {
    const children = target.referencedBy.map((r) => `"${r.schema}"."${r.table}"`).join(', ');
    errors.push(
      `truncate: ${children} references this table by foreign key, so PostgreSQL refuses to TRUNCATE it (use append or upsert)`,
    );
  }

  let conflictKey: readonly string[] | undefined;
  if (input.mode === 'upsert') {
    const written = new Set(columns);
    conflictKey = target.keys.find((k) => k.columns.every((c) => written.has(c)))?.columns;
    if (!conflictKey) {
      errors.push(
        'upsert needs a primary key or unique key on the target whose columns are all copied',
      );
    }
    const key = new Set(conflictKey);
    for (const name of identityAlways.filter((c) => !key.has(c))) {
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
  });
  warnings.push(...triggers.warnings);
  errors.push(...triggers.errors);

  return {
    ...emptyPlan(input, errors),
    targetKind: target.kind,
    sequences: sequences.sequences,
    triggers: triggers.triggers,
    disableTriggers,
    columns,
    pairs,
    skipped: { sourceOnly, targetOnly },
    generated,
    casts,
    overridingSystemValue,
    identityAlways,
    conflictKey,
    format: binary && columns.length > 0 ? 'binary' : 'text',
    warnings,
  };
}

function requiresValue(c: ColumnInfo): boolean {
  return c.notNull && !c.hasDefault && c.identity === '' && c.generated === '';
}
