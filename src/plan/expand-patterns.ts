import type pg from 'pg';
import type { Config, TableSpec, TargetConfig } from '../config/types.js';
import { tablePatternRegExp } from '../config/table-pattern.js';
import type { Connectors } from '../db/connectors.js';

/** What one pattern of one target selected, shown by the plan (empty: a warning). */
export interface PatternMatch {
  readonly target: string;
  readonly pattern: string;
  readonly matched: readonly string[];
}

/** The source schema's tables, plain and partitioned; not views, not partitions (their parent copies them). */
const SOURCE_TABLES_SQL = `
  SELECT c.relname AS name
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition
  ORDER BY c.relname COLLATE "C"`;

export async function listSourceTables(client: pg.ClientBase, schema: string): Promise<string[]> {
  const result = await client.query<{ name: string }>(SOURCE_TABLES_SQL, [schema]);
  return result.rows.map((r) => r.name);
}

/**
 * One target's tables with its patterns expanded: the explicit entries first (they keep their
 * per-table settings), then each table a pattern matches, in name order, unless it is explicit
 * already or excluded.
 */
export function expandTarget(
  target: TargetConfig,
  sourceTables: readonly string[],
): { target: TargetConfig; matches: PatternMatch[] } {
  const patterns = target.tablePatterns ?? [];
  const excluded = (target.exclude ?? []).map(tablePatternRegExp);
  const explicit = new Set(target.tables.flatMap((t) => [t.source, t.target]));
  const added = new Set<string>();
  const matches = patterns.map((pattern) => {
    const re = tablePatternRegExp(pattern);
    const matched = sourceTables.filter(
      (name) => re.test(name) && !excluded.some((x) => x.test(name)),
    );
    for (const name of matched) if (!explicit.has(name)) added.add(name);
    return { target: target.name, pattern, matched };
  });
  const tables: TableSpec[] = [
    ...target.tables,
    ...[...added].sort().map((name) => ({ source: name, target: name })),
  ];
  return { target: { ...target, tables }, matches };
}

/**
 * Expands every target's `tables` patterns against the source schema (one short connection);
 * a config without patterns is returned as it is, without connecting.
 */
export async function expandTablePatterns(
  config: Config,
  connectors: Connectors,
  options: { signal?: AbortSignal } = {},
): Promise<{ config: Config; matches: PatternMatch[] }> {
  if (!config.targets.some((t) => t.tablePatterns?.length)) return { config, matches: [] };
  const client = await connectors.source.connect(options);
  let sourceTables: string[];
  try {
    sourceTables = await listSourceTables(client, config.source.schema);
  } finally {
    await client.end();
  }
  const expanded = config.targets.map((t) => expandTarget(t, sourceTables));
  return {
    config: { ...config, targets: expanded.map((e) => e.target) },
    matches: expanded.flatMap((e) => e.matches),
  };
}
