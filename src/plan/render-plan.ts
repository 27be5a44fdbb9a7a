import { printable, printed } from '../report/printable.js';
import { quotedNames } from './name-list.js';
import { textTable } from '../report/text-table.js';
import { warningCode } from '../report/warning-codes.js';
import type { PatternMatch } from './expand-patterns.js';
import type { Plan, TablePlan } from './types.js';
import type { ReadOncePlan } from './read-once.js';
import { preparedLine } from './prepared-waits.js';

/** The plan's warnings the config does not acknowledge: they make the table "with warnings". */
function openWarnings(t: TablePlan): string[] {
  const acknowledged = new Set(t.acknowledge ?? []);
  return t.warnings.filter((w) => !acknowledged.has(warningCode(w)));
}

function status(t: TablePlan): string {
  if (t.errors.length > 0) return `error (${t.errors.length})`;
  const open = openWarnings(t).length;
  if (open > 0) return `warnings (${open})`;
  return 'ok';
}

const unmatched = (plan: Plan, p: PatternMatch): string =>
  `Target ${p.target}: pattern ${p.pattern} matched no table in source schema ${plan.sourceSchema}`;

/** A warning for each `tables` pattern that matched no source table. */
export function unmatchedPatternWarnings(plan: Plan): string[] {
  return (plan.patterns ?? []).filter((p) => p.matched.length === 0).map((p) => unmatched(plan, p));
}

/** The most table names a pattern's line lists; the rest are counted (`plan --json` has all). */
const LISTED_MATCHES = 30;

/** What a pattern matched, as one line: every name, or the first few dozen and a count. */
function matchedLine(p: PatternMatch): string {
  const shown = p.matched.slice(0, LISTED_MATCHES).join(', ');
  const rest = p.matched.length - LISTED_MATCHES;
  if (rest <= 0) return printed`Target ${p.target}: pattern ${p.pattern} matched ${shown}\n`;
  return printed`Target ${p.target}: pattern ${p.pattern} matched ${String(p.matched.length)} tables: ${shown} … and ${String(rest)} more (plan --json lists them all)\n`;
}

/** A group's tables on its line: the first few dozen, then a count (`plan --json` has all). */
function groupNames(tables: readonly string[]): string {
  const names = quotedNames(tables, LISTED_MATCHES);
  return tables.length > LISTED_MATCHES ? `${names} (plan --json lists them all)` : names;
}

/** The readable plan: one table per target, then each warning and error under its table. */
export function renderPlan(plan: Plan): string {
  let out = '';
  for (const p of plan.patterns ?? []) {
    out += p.matched.length > 0 ? matchedLine(p) : `⚠ ${printable(unmatched(plan, p))}\n`;
  }
  if (plan.patterns?.length) out += '\n';
  for (const target of plan.targets) {
    out += printed`Target ${target.name} (schema ${target.schema}), from source schema ${plan.sourceSchema}\n`;
    const rows = target.tables.map((t) => [
      t.sourceTable === t.targetTable ? t.targetTable : `${t.sourceTable} -> ${t.targetTable}`,
      t.mode,
      t.strategy,
      t.errors.length > 0 ? '-' : t.format,
      String(t.columns.length),
      String(t.skipped.sourceOnly.length + t.skipped.targetOnly.length),
      String(Math.round(t.estimatedRows)),
      status(t),
    ]);
    out += textTable(
      ['TABLE', 'MODE', 'STRATEGY', 'FORMAT', 'COLUMNS', 'SKIPPED', 'EST. ROWS', 'STATUS'],
      rows,
      '  ',
    );
    for (const g of target.truncateGroups ?? []) {
      out += printed`  ⧉ truncate group ${groupNames(g.tables)}: one TRUNCATE, loaded in this order in one transaction (all or nothing)\n`;
    }
    for (const g of target.loadGroups ?? []) {
      out += printed`  ⧉ load group ${groupNames(g.tables)}: loaded in this order in one transaction (all or nothing), its foreign-key cycle ${g.deferred ? 'checked at COMMIT' : 'loaded with checks off (disableTriggers)'}\n`;
    }
    for (const p of target.prepared ?? []) {
      out += `  ⏸ ${printable(preparedLine(p, target.lockTimeoutMs))}\n`;
    }
    for (const t of target.tables) {
      for (const e of t.errors) out += printed`  ✖ ${t.targetTable}: ${e}\n`;
      for (const w of t.warnings) {
        const code = warningCode(w);
        const mark = t.acknowledge?.includes(code) ? '✓ acknowledged' : '⚠';
        out += printed`  ${mark} ${t.targetTable}: ${w} [${code}]\n`;
      }
      for (const n of t.notes ?? []) out += printed`  ℹ ${t.targetTable}: ${n}\n`;
      if (t.excluded?.length) {
        out += printed`  − ${t.targetTable}: source columns not copied (columns.exclude): ${t.excluded.map((c) => `"${c}"`).join(', ')}\n`;
      }
      if (t.renamed?.length) {
        const renames = t.renamed.map((r) => `"${r.source}" -> "${r.target}"`).join(', ');
        out += printed`  ↔ ${t.targetTable}: columns renamed (columns.rename): ${renames}\n`;
      }
      for (const m of t.masks ?? []) {
        const name = m.source === m.column ? `"${m.column}"` : `"${m.source}" -> "${m.column}"`;
        out += printed`  ⊘ ${t.targetTable}: ${name} written as ${m.rule}, computed on the source (${m.from})\n`;
      }
      if (t.loadsAfter?.length) {
        out += printed`  → ${t.targetTable}: loads after ${t.loadsAfter.map((p) => `"${p}"`).join(', ')} (foreign keys)\n`;
      }
      if (t.errors.length === 0 && t.sequences?.length) {
        const moved = t.sequences
          .map(
            (q) =>
              `${q.schema}.${q.name} ("${q.column}"${q.descending ? ', descending: below' : ''})`,
          )
          .join(', ');
        out += printed`  ↑ ${t.targetTable}: moves sequences past the copied values: ${moved}\n`;
      }
    }
    out += '\n';
  }
  out += renderReadOnce(plan.readOnce);
  const all = plan.targets.flatMap((t) => t.tables);
  const failing = all.filter((t) => t.errors.length > 0).length;
  const warned = all.filter((t) => t.errors.length === 0 && openWarnings(t).length > 0).length;
  out += `${all.length} table(s): ${all.length - failing - warned} ok, ${warned} with warnings, ${failing} with errors\n`;
  return out;
}

/** Which tables several targets take are read once for which targets, and which are not, why. */
function renderReadOnce(readOnce: ReadOncePlan | undefined): string {
  if (!readOnce || readOnce.shared.length + readOnce.separate.length === 0) return '';
  let out = 'Read once (options.readOnce):\n';
  for (const r of readOnce.shared) {
    const pairs = r.pairs.map((p) => `${p.target}.${p.table}`).join(', ');
    out += printed`  ⇉ ${r.source}: read once for ${pairs} (${r.format}, ${String(r.columns.length)} source columns)\n`;
  }
  for (const r of readOnce.separate) {
    out += printed`  ↛ ${r.source}: read separately for ${r.target}.${r.table}: ${r.reason}\n`;
  }
  return out + '\n';
}

/** The `--json` shape: stable keys, documented in docs/commands/plan.md. */
export function planToJson(plan: Plan): unknown {
  return {
    sourceSchema: plan.sourceSchema,
    ...(plan.patterns ? { patterns: plan.patterns } : {}),
    ...(plan.readOnce ? { readOnce: plan.readOnce } : {}),
    targets: plan.targets.map((target) => ({
      name: target.name,
      schema: target.schema,
      truncateGroups: target.truncateGroups ?? [],
      loadGroups: target.loadGroups ?? [],
      prepared: target.prepared ?? [],
      tables: target.tables.map((t) => ({
        source: t.sourceTable,
        target: t.targetTable,
        mode: t.mode,
        strategy: t.strategy,
        format: t.format,
        columns: t.columns,
        excluded: t.excluded ?? [],
        renamed: t.renamed ?? [],
        masks: (t.masks ?? []).map((m) => ({
          column: m.column,
          source: m.source,
          rule: m.rule,
          from: m.from,
        })),
        redactValues: t.redactValues ?? false,
        skipped: t.skipped,
        generated: t.generated,
        casts: t.casts,
        conflictKey: t.conflictKey ?? null,
        overridingSystemValue: t.overridingSystemValue,
        loadsAfter: t.loadsAfter ?? [],
        ...(t.loadGroup
          ? { [t.mode === 'truncate' ? 'truncateGroup' : 'loadGroup']: t.loadGroup }
          : {}),
        sequences: t.sequences ?? [],
        triggers: t.triggers ?? [],
        disableTriggers: t.disableTriggers ?? false,
        runsUserCode: t.runsUserCode ?? false,
        ...(t.split ? { split: t.split } : {}),
        ...(t.rebuildIndexes ? { rebuildIndexes: t.rebuildIndexes } : {}),
        estimatedRows: t.estimatedRows,
        warnings: t.warnings,
        warningCodes: t.warnings.map(warningCode),
        ...(t.acknowledge ? { acknowledge: t.acknowledge } : {}),
        notes: t.notes ?? [],
        errors: t.errors,
      })),
    })),
  };
}
