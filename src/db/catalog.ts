import type pg from 'pg';
import { readColumnSequences, type ColumnSequence } from './column-sequences.js';
import { readForeignKeys, type TableRef } from './foreign-keys.js';
import { readTriggers, type TriggerInfo } from './triggers.js';

export type { ColumnSequence } from './column-sequences.js';
export type { TableRef } from './foreign-keys.js';
export type { TriggerEvent, TriggerInfo } from './triggers.js';

/** One column as the catalog describes it. */
export interface ColumnInfo {
  readonly name: string;
  /** format_type(), without the schema of a user-defined type (schemas differ between databases). */
  readonly type: string;
  /** pg_type.typcategory (of the element for arrays, see elementCategory). */
  readonly category: string;
  readonly elementCategory: string | undefined;
  /** b base, c composite, d domain, e enum, r range, m multirange, p pseudo. */
  readonly typtype: string;
  /** The type (or an array's element type) was created by a user: its OID differs between databases. */
  readonly userDefined: boolean;
  readonly notNull: boolean;
  readonly hasDefault: boolean;
  /** '' none, 'a' GENERATED ALWAYS AS IDENTITY, 'd' BY DEFAULT. */
  readonly identity: string;
  /** '' none, 's' stored generated column. */
  readonly generated: string;
}

export interface UniqueKey {
  readonly primary: boolean;
  readonly columns: readonly string[];
}

export interface TableInfo {
  readonly schema: string;
  readonly name: string;
  /**
   * Tables the foreign keys of the rows its load writes reference (its own, its partitions' at any
   * depth, inherited ones; itself excluded).
   */
  readonly references: readonly TableRef[];
  /** Tables whose foreign keys reference it or its partitions (itself excluded): no TRUNCATE. */
  readonly referencedBy: readonly TableRef[];
  /** Sequences owned by or called from the defaults of its (and its partitions') columns. */
  readonly sequences: readonly ColumnSequence[];
  /** User triggers that fire when it is loaded (its partitions' included). */
  readonly triggers: readonly TriggerInfo[];
  /** pg_class.relkind: r table, p partitioned, v view, m materialized view, f foreign. */
  readonly kind: string;
  readonly columns: readonly ColumnInfo[];
  readonly keys: readonly UniqueKey[];
  readonly estimatedRows: number;
  readonly estimatedBytes: number;
}

/** The tables of one schema that a plan asked about; absent names are missing tables. */
export interface SchemaCatalog {
  readonly serverVersion: number;
  readonly schema: string;
  readonly schemaExists: boolean;
  readonly tables: ReadonlyMap<string, TableInfo>;
}

const FIRST_USER_OID = 16384;

const COLUMNS_SQL = `
SELECT c.relname AS table_name, c.relkind::text AS kind,
       CASE WHEN c.relkind = 'p'
            THEN (SELECT coalesce(sum(greatest(pc.reltuples, 0)), 0) FROM pg_partition_tree(c.oid) pt
                  JOIN pg_class pc ON pc.oid = pt.relid WHERE pt.isleaf)
            ELSE greatest(c.reltuples, 0) END::float8 AS estimated_rows,
       CASE WHEN c.relkind IN ('r','m') THEN pg_total_relation_size(c.oid)
            WHEN c.relkind = 'p'
            THEN (SELECT coalesce(sum(pg_total_relation_size(pt.relid)), 0) FROM pg_partition_tree(c.oid) pt)
            ELSE 0 END::float8 AS estimated_bytes,
       a.attname AS column_name, format_type(a.atttypid, a.atttypmod) AS type,
       tn.nspname AS type_schema, t.typcategory::text AS category, t.typtype::text AS typtype,
       a.atttypid::int8 AS type_oid, t.typelem::int8 AS elem_oid, et.typcategory::text AS elem_category,
       a.attnotnull AS not_null, a.atthasdef AS has_default,
       a.attidentity::text AS identity, a.attgenerated::text AS generated
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_type t ON t.oid = a.atttypid
JOIN pg_namespace tn ON tn.oid = t.typnamespace
LEFT JOIN pg_type et ON et.oid = t.typelem AND t.typcategory = 'A'
WHERE n.nspname = $1 AND c.relname = ANY($2::text[]) AND c.relkind IN ('r','p','v','m','f')
ORDER BY c.relname, a.attnum`;

const KEYS_SQL = `
SELECT c.relname AS table_name, i.indisprimary AS is_primary,
       array(SELECT a.attname FROM unnest(i.indkey) WITH ORDINALITY k(attnum, ord)
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum ORDER BY k.ord)::text[] AS columns
FROM pg_index i
JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = ANY($2::text[])
  AND (i.indisprimary OR i.indisunique) AND i.indisvalid AND i.indpred IS NULL AND i.indexprs IS NULL
ORDER BY c.relname, i.indisprimary DESC, i.indexrelid`;

interface ColumnRow {
  table_name: string;
  kind: string;
  estimated_rows: number;
  estimated_bytes: number;
  column_name: string;
  type: string;
  type_schema: string;
  category: string;
  typtype: string;
  type_oid: string;
  elem_oid: string;
  elem_category: string | null;
  not_null: boolean;
  has_default: boolean;
  identity: string;
  generated: string;
}

interface KeyRow {
  table_name: string;
  is_primary: boolean;
  columns: string[];
}

/** Drops a leading `schema.` that format_type adds to user types outside the search path. */
function unqualifiedType(type: string, typeSchema: string, userDefined: boolean): string {
  if (!userDefined || typeSchema === 'pg_catalog') return type;
  const prefixes = [`"${typeSchema.replaceAll('"', '""')}".`, `${typeSchema}.`];
  const prefix = prefixes.find((p) => type.startsWith(p));
  return prefix ? type.slice(prefix.length) : type;
}

function toColumn(row: ColumnRow): ColumnInfo {
  const userDefined =
    Number(row.type_oid) >= FIRST_USER_OID || Number(row.elem_oid) >= FIRST_USER_OID;
  return {
    name: row.column_name,
    type: unqualifiedType(row.type, row.type_schema, userDefined),
    category: row.category,
    elementCategory: row.elem_category ?? undefined,
    typtype: row.typtype,
    userDefined,
    notNull: row.not_null,
    hasDefault: row.has_default,
    identity: row.identity,
    generated: row.generated,
  };
}

/** Reads the columns, unique keys and size estimates of the named tables of one schema. */
export async function readSchemaCatalog(
  client: pg.ClientBase,
  schema: string,
  tableNames: readonly string[],
): Promise<SchemaCatalog> {
  const names = [...new Set(tableNames)];
  const version = await client.query<{ v: string }>(
    `SELECT current_setting('server_version_num') AS v`,
  );
  const schemaRow = await client.query(`SELECT 1 FROM pg_namespace WHERE nspname = $1`, [schema]);
  const columnRows = await client.query<ColumnRow>(COLUMNS_SQL, [schema, names]);
  const keyRows = await client.query<KeyRow>(KEYS_SQL, [schema, names]);
  const foreignKeys = await readForeignKeys(client, schema, names);
  const sequences = await readColumnSequences(client, schema, names);
  const triggers = await readTriggers(client, schema, names);
  const tables = new Map<string, TableInfo & { columns: ColumnInfo[]; keys: UniqueKey[] }>();
  for (const row of columnRows.rows) {
    let table = tables.get(row.table_name);
    if (!table) {
      table = {
        schema,
        name: row.table_name,
        kind: row.kind,
        columns: [],
        keys: [],
        references: foreignKeys.get(row.table_name)?.references ?? [],
        referencedBy: foreignKeys.get(row.table_name)?.referencedBy ?? [],
        sequences: sequences.get(row.table_name) ?? [],
        triggers: triggers.get(row.table_name) ?? [],
        estimatedRows: row.estimated_rows,
        estimatedBytes: row.estimated_bytes,
      };
      tables.set(row.table_name, table);
    }
    table.columns.push(toColumn(row));
  }
  for (const row of keyRows.rows) {
    tables.get(row.table_name)?.keys.push({ primary: row.is_primary, columns: row.columns });
  }
  return {
    serverVersion: Number(version.rows[0]?.v ?? 0),
    schema,
    schemaExists: schemaRow.rowCount === 1,
    tables,
  };
}
