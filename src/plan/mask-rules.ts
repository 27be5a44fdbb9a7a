import type { Strategy } from '../config/types.js';
import type { ColumnInfo } from '../db/catalog.js';
import { describeRule, ruleSql } from '../masking/mask-sql.js';
import { ruleFor, unmatchedTableKeys, type RuleLevels } from '../masking/rule-match.js';
import type { ColumnMask } from './types.js';

/** A written column: its source column and its target name. */
export interface WrittenColumn {
  readonly source: ColumnInfo;
  readonly target: string;
}

export interface MaskPlan {
  readonly masks: ColumnMask[];
  readonly errors: string[];
}

/**
 * The data rules of one pair's written columns: each column's rule (the table's, else the
 * target's, else the run's) as the SQL the source evaluates. A rule that does not fit the
 * column's type, a table key that names no column, and a strategy that would evaluate the rules
 * anywhere but on the source are plan errors.
 */
export function planMasks(input: {
  readonly levels: RuleLevels;
  readonly sourceTable: string;
  readonly sourceColumns: readonly ColumnInfo[];
  readonly written: readonly WrittenColumn[];
  readonly strategy: Strategy;
}): MaskPlan {
  const masks: ColumnMask[] = [];
  const errors: string[] = [];
  for (const { source, target } of input.written) {
    const matched = ruleFor(input.levels, input.sourceTable, source.name);
    if (!matched) continue;
    const built = ruleSql(matched.rule, source);
    if ('error' in built) {
      errors.push(`column "${source.name}": ${matched.from}: ${built.error}`);
      continue;
    }
    masks.push({
      column: target,
      source: source.name,
      rule: describeRule(matched.rule),
      from: matched.from,
      sql: built.sql,
    });
  }
  for (const key of unmatchedTableKeys(
    input.levels.table,
    input.sourceTable,
    input.sourceColumns.map((c) => c.name),
  )) {
    errors.push(
      `target ${input.levels.targetName}, table ${input.sourceTable}: dataRules["${key}"]: the source table has no column of that name`,
    );
  }
  if (masks.length > 0 && input.strategy === 'fdw') {
    errors.push(
      `strategy fdw reads the source through postgres_fdw on the target, so the data rules (${masks.map((m) => `"${m.source}"`).join(', ')}) would run after the values left the source: use stream, dblink or fdw-push for this table`,
    );
  }
  return { masks, errors };
}
