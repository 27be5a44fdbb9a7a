import type pg from 'pg';
import { explainError } from './explain-on-source.js';
import type { Config, TableSpec, TargetConfig } from '../config/types.js';
import type { SchemaCatalog } from '../db/catalog.js';
import { relationSql } from '../copy/sql.js';
import { ruleSql } from '../masking/mask-sql.js';
import { ruleFor, type RuleLevels } from '../masking/rule-match.js';

/** The rule levels of one table of one target. */
export function ruleLevelsOf(config: Config, target: TargetConfig, spec: TableSpec): RuleLevels {
  return {
    run: config.options.dataRules,
    target: target.dataRules,
    targetName: target.name,
    table: spec.dataRules,
  };
}

/** The expression rules' SQL of a table's source columns: `table\0sql` -> that SQL. */
function expressionsOf(
  levels: RuleLevels,
  spec: TableSpec,
  catalog: SchemaCatalog,
): Map<string, { column: string; sql: string }> {
  const out = new Map<string, { column: string; sql: string }>();
  for (const column of catalog.tables.get(spec.source)?.columns ?? []) {
    const matched = ruleFor(levels, spec.source, column.name);
    if (matched?.rule.kind !== 'expression') continue;
    const built = ruleSql(matched.rule, column);
    if ('sql' in built)
      out.set(`${spec.source}\0${built.sql}`, { column: column.name, sql: built.sql });
  }
  return out;
}

/**
 * EXPLAINs each data rule expression of the planned tables on the source, cast to its column's
 * type, as `where` filters are checked: a typo or a type that does not fit is a plan error, not a
 * failure in the middle of the run. Returns PostgreSQL's message by `table\0sql`.
 */
export async function checkRuleExpressions(
  client: pg.ClientBase,
  config: Config,
  selected: readonly { readonly config: TargetConfig; readonly tables: readonly TableSpec[] }[],
  catalog: SchemaCatalog,
): Promise<Map<string, string>> {
  const all = new Map<string, { column: string; sql: string }>();
  for (const { config: target, tables } of selected) {
    for (const spec of tables) {
      for (const [key, value] of expressionsOf(ruleLevelsOf(config, target, spec), spec, catalog)) {
        all.set(key, value);
      }
    }
  }
  const errors = new Map<string, string>();
  for (const [key, { sql }] of all) {
    const [name = ''] = key.split('\0');
    const table = catalog.tables.get(name);
    if (!table) continue;
    const error = await explainError(
      client,
      `SELECT ${sql} FROM ${relationSql(catalog.schema, name, table.kind)}`,
    );
    if (error !== undefined) errors.set(key, error);
  }
  return errors;
}

/** A table's failed expressions, by source column, for buildTablePlan. */
export function ruleErrorsOf(
  levels: RuleLevels,
  spec: TableSpec,
  catalog: SchemaCatalog,
  errors: ReadonlyMap<string, string>,
): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, { column }] of expressionsOf(levels, spec, catalog)) {
    const why = errors.get(key);
    if (why !== undefined) out.set(column, why);
  }
  return out;
}
