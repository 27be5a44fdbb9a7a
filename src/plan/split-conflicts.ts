import type pg from 'pg';
import type { TableInfo, UniqueKey } from '../db/catalog.js';
import type { ColumnPair, TablePlan } from './types.js';

/** One key column of a target unique index, as its uniqueness compares it. */
export interface IndexKeyColumn {
  /** The column; null: an expression. */
  readonly column: string | null;
  /** Compared by a deterministic collation (equal only when the bytes are), or not collatable. */
  readonly deterministic: boolean;
  /** Its operator class's input type when that class is the type's default one, else null. */
  readonly equality: string | null;
}

/**
 * A target constraint that makes one row wait for another transaction's uncommitted row: a unique
 * index of the table or of one of its partitions (partial ones included: a row in its subset
 * waits like any other), an exclusion
 * constraint, or a foreign key of the table to itself (a row's parent may be another part's).
 */
export type ConflictIndex =
  | {
      readonly kind: 'unique';
      readonly name: string;
      /** The key columns only: INCLUDE columns take no part in uniqueness. */
      readonly keyColumns: readonly IndexKeyColumn[];
      /** NULLS NOT DISTINCT (PostgreSQL 15+): NULLs conflict like any other value. */
      readonly nullsNotDistinct: boolean;
    }
  | { readonly kind: 'exclusion'; readonly name: string }
  | { readonly kind: 'self-reference'; readonly name: string };

const conflictIndexesSql = (serverVersion: number): string => `
SELECT c.relname AS table_name, ic.relname AS index_name,
       CASE WHEN x.conname IS NOT NULL THEN 'exclusion' ELSE 'unique' END AS kind,
       ${serverVersion >= 150000 ? 'i.indnullsnotdistinct' : 'false'} AS nulls_not_distinct,
       (SELECT json_agg(json_build_object(
                 'column', a.attname,
                 'deterministic', ${serverVersion >= 120000 ? 'coalesce(co.collisdeterministic, true)' : 'true'},
                 'equality', CASE WHEN o.opcdefault THEN format_type(o.opcintype, NULL) END)
               ORDER BY k.ord)
          FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
          LEFT JOIN unnest(i.indclass::oid[]) WITH ORDINALITY oc(opclass, ord) ON oc.ord = k.ord
          LEFT JOIN unnest(i.indcollation::oid[]) WITH ORDINALITY cc(coll, ord) ON cc.ord = k.ord
          LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum AND k.attnum <> 0
          LEFT JOIN pg_opclass o ON o.oid = oc.opclass
          LEFT JOIN pg_collation co ON co.oid = cc.coll
         WHERE k.ord <= i.indnkeyatts) AS key_columns
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
-- A partition's own unique indexes bind the rows routed to it as much as the table's.
CROSS JOIN LATERAL (SELECT c.oid AS relid${serverVersion >= 120000 ? ' UNION SELECT t.relid FROM pg_partition_tree(c.oid) t' : ''}) AS tree
JOIN pg_class pc ON pc.oid = tree.relid AND (pc.oid = c.oid OR pc.relispartition)
JOIN pg_index i ON i.indrelid = pc.oid
JOIN pg_class ic ON ic.oid = i.indexrelid
LEFT JOIN pg_constraint x ON x.conindid = i.indexrelid AND x.contype = 'x'
WHERE n.nspname = $1 AND c.relname = ANY($2::text[]) AND (i.indisunique OR x.conname IS NOT NULL)
UNION ALL
SELECT c.relname, f.conname, 'self-reference', false, NULL
FROM pg_constraint f
JOIN pg_class c ON c.oid = f.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = ANY($2::text[]) AND f.contype = 'f' AND f.confrelid = f.conrelid
ORDER BY 1, 2`;

/** The conflict indexes of the named target tables, by table. */
export async function readConflictIndexes(
  client: pg.ClientBase,
  schema: string,
  tables: readonly string[],
  serverVersion: number,
): Promise<Map<string, ConflictIndex[]>> {
  const result = await client.query<{
    table_name: string;
    index_name: string;
    kind: ConflictIndex['kind'];
    nulls_not_distinct: boolean;
    key_columns: IndexKeyColumn[] | null;
  }>(conflictIndexesSql(serverVersion), [schema, tables]);
  const byTable = new Map<string, ConflictIndex[]>();
  for (const row of result.rows) {
    const list = byTable.get(row.table_name) ?? [];
    list.push(
      row.kind === 'unique'
        ? {
            kind: 'unique',
            name: row.index_name,
            keyColumns: row.key_columns ?? [],
            nullsNotDistinct: row.nulls_not_distinct,
          }
        : row.kind === 'exclusion'
          ? { kind: 'exclusion', name: row.index_name }
          : { kind: 'self-reference', name: row.index_name },
    );
    byTable.set(row.table_name, list);
  }
  return byTable;
}

/**
 * Conversions that never make two distinct source values equal on the target (besides identical
 * types): integers into wider integers or unconstrained numeric, strings into text. Anything else
 * may (float8 into float4, numeric into integer, text into citext, char(n), timestamp into date).
 */
const INJECTIVE: Readonly<Record<string, readonly string[]>> = {
  smallint: ['integer', 'bigint', 'numeric'],
  integer: ['bigint', 'numeric'],
  bigint: ['numeric'],
  text: ['character varying'],
  'character varying': ['text', 'character varying'],
};

const baseName = (type: string): string => type.replace(/\(\d+\)$/, '');

function injective(pair: ColumnPair): boolean {
  if (pair.sourceType === pair.targetType) return true;
  // varchar(n) into varchar(m) truncates trailing spaces past m: only an unlimited one is safe.
  if (pair.targetType !== baseName(pair.targetType)) return false;
  return INJECTIVE[baseName(pair.sourceType)]?.includes(pair.targetType) ?? false;
}

/** A user-defined composite, range or array: its equality compares parts the names do not show. */
function opaqueType(source: TableInfo | undefined, column: string): boolean {
  const info = source?.columns.find((c) => c.name === column);
  return (
    info !== undefined &&
    info.userDefined &&
    (['c', 'r', 'm'].includes(info.typtype) || info.category === 'A')
  );
}

/** A target key column with the source column whose values it holds, or why none can be relied on. */
type Matched =
  { readonly source: string; readonly pair: ColumnPair } | { readonly problem: string };

function matchColumn(
  table: TablePlan,
  source: TableInfo | undefined,
  key: IndexKeyColumn,
): Matched {
  if (key.column === null) return { problem: 'an expression' };
  const column = `column "${key.column}"`;
  const pair = table.pairs.find((p) => p.name === key.column);
  if (!pair) return { problem: `${column}, which is not written from the source` };
  const from = table.renamed?.find((r) => r.target === key.column)?.source ?? key.column;
  const written = from === key.column ? column : `${column} (written from source column "${from}")`;
  if (!key.deterministic) {
    return {
      problem: `${written}, compared by a non-deterministic collation (distinct values can be equal)`,
    };
  }
  if (key.equality === null)
    return { problem: `${written}, compared by a non-default operator class` };
  if (!injective(pair)) {
    return {
      problem: `${written}, converted from ${pair.sourceType} to ${pair.targetType} (distinct values can become equal)`,
    };
  }
  if (opaqueType(source, from))
    return { problem: `${written}, of a user-defined ${pair.targetType}` };
  return { source: from, pair };
}

/**
 * Whether source key `key` proves the rows distinct on the matched columns: each of its columns is
 * matched, compared on the source by its type's own equality, the same equality as the target's
 * for identical types (a domain's base type may differ between databases); NULLs aside, which the
 * caller decides.
 */
function keyCovers(
  key: UniqueKey,
  matched: ReadonlyMap<string, { pair: ColumnPair; equality: string | null }>,
): boolean {
  return key.columns.every((column, i) => {
    const target = matched.get(column);
    const equality = key.equality?.[i] ?? null;
    if (!target || equality === null) return false;
    return target.pair.sourceType !== target.pair.targetType || equality === target.equality;
  });
}

/** Why rows of two parts could collide on unique index `index`, or undefined when they cannot. */
function uniqueRisk(
  table: TablePlan,
  index: Extract<ConflictIndex, { kind: 'unique' }>,
  source: TableInfo | undefined,
): string | undefined {
  const matches = index.keyColumns.map((k) => ({ k, m: matchColumn(table, source, k) }));
  const matched = new Map<string, { pair: ColumnPair; equality: string | null }>();
  for (const { k, m } of matches) {
    if ('source' in m) matched.set(m.source, { pair: m.pair, equality: k.equality });
  }
  // A superset of a unique key is unique: any source key among the matched columns will do.
  const covering = (source?.keys ?? []).filter((key) => keyCovers(key, matched));
  const name = `the target's index ${index.name}`;
  const wait = 'rows of two parts could wait on each other';
  if (covering.some((key) => !index.nullsNotDistinct || key.notNull || key.nullsNotDistinct)) {
    return undefined;
  }
  if (covering[0]) {
    return `${name} is NULLS NOT DISTINCT, and the source's key ${covering[0].name} allows several NULLs: ${wait}`;
  }
  const problem = matches.find(({ m }) => 'problem' in m)?.m;
  if (problem && 'problem' in problem) {
    return `${name} is not a unique key of the source: its key has ${problem.problem}: ${wait}`;
  }
  const columns = [...matched.keys()].map((c) => `"${c}"`).join(', ');
  return `${name} is not a unique key of the source (source columns ${columns}): ${wait}`;
}

/**
 * Why parts of this table could wait on each other, or undefined. A row that conflicts with a row
 * another part has written but not committed waits for that part's transaction to end, which only
 * ends once every part has loaded: the parts would wait for each other for ever. That cannot
 * happen where every unique index of the target holds, on columns written without a conversion
 * that could make distinct values equal and compared by the same equality, a unique key of the
 * source (the snapshot's rows are distinct on it), with NULLs counted as the target counts them;
 * nor where the target has an exclusion constraint, a foreign key to itself that is checked, or
 * triggers that fire.
 */
export function partsMayWait(
  table: TablePlan,
  target: readonly ConflictIndex[],
  source: TableInfo | undefined,
): string | undefined {
  if ((table.triggers ?? []).length > 0) {
    return "the target's triggers fire during the load: parts could wait on each other's rows";
  }
  for (const index of target) {
    if (index.kind === 'self-reference') {
      // With triggers off (session_replication_role = replica), foreign keys are not checked.
      if (table.disableTriggers) continue;
      return `the target's foreign key ${index.name} references its own table: a row's parent may be in another part, not yet committed`;
    }
    if (index.kind === 'exclusion') {
      return `the target's exclusion constraint ${index.name}: rows of two parts could conflict, and wait on each other`;
    }
    const risk = uniqueRisk(table, index, source);
    if (risk !== undefined) return risk;
  }
  return undefined;
}
