import type { DataRule, DataRules } from '../config/types.js';
import { isTablePattern, tablePatternRegExp } from '../config/table-pattern.js';

/** The data rules of one (target, table) pair's levels, the most specific last wins first. */
export interface RuleLevels {
  /** options.dataRules */
  readonly run?: DataRules | undefined;
  /** The target's dataRules and its name, for messages. */
  readonly target?: DataRules | undefined;
  readonly targetName: string;
  /** The table's own dataRules. */
  readonly table?: DataRules | undefined;
}

/** The rule a column takes, and the config key that gives it (for the plan and its messages). */
export interface MatchedRule {
  readonly rule: DataRule;
  readonly from: string;
}

interface ParsedKey {
  readonly table: string | undefined;
  readonly column: string;
}

/** `users.email` -> table users, column email; `email` -> any table. */
function parseKey(key: string): ParsedKey {
  const dot = key.indexOf('.');
  return dot < 0
    ? { table: undefined, column: key }
    : { table: key.slice(0, dot), column: key.slice(dot + 1) };
}

function matches(pattern: string, name: string): boolean {
  return isTablePattern(pattern) ? tablePatternRegExp(pattern).test(name) : pattern === name;
}

/**
 * How specific a matching key is: an exact column beats a pattern, a named table beats any
 * table, a table pattern sits between; among patterns the one with more literal characters.
 */
function specificity(key: ParsedKey): number {
  const literal = (s: string): number => s.replace(/[*?]/g, '').length;
  let score = isTablePattern(key.column) ? literal(key.column) : 10_000;
  if (key.table !== undefined) score += isTablePattern(key.table) ? 1_000 : 5_000;
  return score;
}

/** The most specific key of one level that matches the column (the first written on a tie). */
function bestAt(rules: DataRules | undefined, table: string, column: string): string | undefined {
  let best: { key: string; score: number } | undefined;
  for (const key of Object.keys(rules ?? {})) {
    const parsed = parseKey(key);
    if (!matches(parsed.column, column)) continue;
    if (parsed.table !== undefined && !matches(parsed.table, table)) continue;
    const score = specificity(parsed);
    if (!best || score > best.score) best = { key, score };
  }
  return best?.key;
}

/**
 * The rule of source column `column` of source table `table`: the table's own rules first, then
 * the target's, then the run's (a level's rule for a column overrides the wider levels').
 */
export function ruleFor(
  levels: RuleLevels,
  table: string,
  column: string,
): MatchedRule | undefined {
  const scopes: [DataRules | undefined, string][] = [
    [levels.table, `target ${levels.targetName}, table ${table}: dataRules`],
    [levels.target, `target ${levels.targetName}: dataRules`],
    [levels.run, 'options.dataRules'],
  ];
  for (const [rules, where] of scopes) {
    const key = bestAt(rules, table, column);
    if (key !== undefined)
      return { rule: (rules as DataRules)[key] as DataRule, from: `${where}["${key}"]` };
  }
  return undefined;
}

/**
 * A table's own keys that name a column exactly and match none of its source columns: probably a
 * typo (a pattern, or a key at a wider level, may rightly match nothing in some tables).
 */
export function unmatchedTableKeys(
  rules: DataRules | undefined,
  table: string,
  columns: readonly string[],
): string[] {
  return Object.keys(rules ?? {}).filter((key) => {
    const parsed = parseKey(key);
    if (isTablePattern(parsed.column)) return false;
    if (parsed.table !== undefined && !matches(parsed.table, table)) return false;
    return !columns.includes(parsed.column);
  });
}

/** Whether any level of the config has a rule: then row values never reach a message. */
export function hasDataRules(config: {
  readonly options: { readonly dataRules?: DataRules };
  readonly targets: readonly {
    readonly dataRules?: DataRules;
    readonly tables: readonly { readonly dataRules?: DataRules }[];
  }[];
}): boolean {
  const some = (rules: DataRules | undefined): boolean => Object.keys(rules ?? {}).length > 0;
  return (
    some(config.options.dataRules) ||
    config.targets.some((t) => some(t.dataRules) || t.tables.some((s) => some(s.dataRules)))
  );
}
