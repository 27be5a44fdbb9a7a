import type pg from 'pg';
import { readColumnSequences, type ColumnSequence } from './column-sequences.js';
import { readForeignKeys, type TableRef } from './foreign-keys.js';
import { readTriggers, type TriggerInfo } from './triggers.js';
import { readTablesCallingUserFunctions } from './user-functions.js';

export type { ColumnSequence } from './column-sequences.js';
export type { TableRef } from './foreign-keys.js';
export type { TriggerEvent, TriggerInfo } from './triggers.js';

/** One column as the catalog describes it. */
export interface ColumnInfo {
  readonly name: string;
  /** format_type(), without the schema of a user-defined type (schemas differ between databases). */
  readonly type: string;
  /** format_type() as this server prints it, qualified where needed: names the type in SQL here. */
  readonly typeSql: string;
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
  /** The index's name (that of its constraint, when it has one). */
  readonly name: string;
  readonly primary: boolean;
  readonly columns: readonly string[];
  /** Every column is NOT NULL: a NULL can never slip past the key. */
  readonly notNull: boolean;
  /** NULLS NOT DISTINCT (PostgreSQL 15+): NULLs conflict like any other value. */
  readonly nullsNotDistinct: boolean;
  /** DEFERRABLE: PostgreSQL refuses it as an ON CONFLICT arbiter (55000). */
  readonly deferrable: boolean;
  /**
   * Per column, the type whose equality the key compares it by: its operator class's input type,
   * when that class is the default one for the column's type; null otherwise (a custom or image
   * equality, or an INCLUDE column, which the key does not compare). Absent: not read.
   */
  readonly equality?: readonly (string | null)[];
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
  /** Its constraints or defaults (its partitions' included) call a function outside pg_catalog. */
  readonly callsUserFunctions?: boolean;
  /** pg_class.relkind: r table, p partitioned, v view, m materialized view, f foreign. */
  readonly kind: string;
  /** Inheritance children (not partitions): `ONLY` keeps their rows out of every statement. */
  readonly inheritanceChildren: readonly TableRef[];
  /** Inheritance parents (not a partitioned parent). */
  readonly inheritsFrom: readonly TableRef[];
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
  /**
   * Tells databases apart whatever address they were reached by (a tunnel, another name): the
   * server's start time and port, the database's OID and name. Equal on both sides means the
   * target is the source database itself.
   */
  readonly databaseIdentity: string;
  /** The extensions the server-side strategies need. */
  readonly extensions: { readonly dblink: ExtensionState; readonly postgres_fdw: ExtensionState };
  readonly tables: ReadonlyMap<string, TableInfo>;
}

const FIRST_USER_OID = 16384;

const COLUMNS_SQL = `
SELECT c.relname AS table_name, c.relkind::text AS kind,
       CASE WHEN c.relkind = 'p'
            THEN (SELECT coalesce(sum(greatest(pc.reltuples, 0)), 0) FROM pg_partition_tree(c.oid) pt
                  JOIN pg_class pc ON pc.oid = pt.relid WHERE pt.isleaf)
            ELSE greatest(c.reltuples, 0) END::float8 AS estimated_rows,
       CASE WHEN EXISTS (SELECT FROM pg_locks l WHERE l.relation = c.oid AND l.granted
                         AND l.mode = 'AccessExclusiveLock')
            -- pg_total_relation_size would wait for that lock: the planner's figure will do.
            THEN c.relpages::float8 * current_setting('block_size')::int
            WHEN c.relkind IN ('r','m') THEN pg_total_relation_size(c.oid)
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
LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_namespace tn ON tn.oid = t.typnamespace
LEFT JOIN pg_type et ON et.oid = t.typelem AND t.typcategory = 'A'
WHERE n.nspname = $1 AND c.relname = ANY($2::text[]) AND c.relkind IN ('r','p','v','m','f')
ORDER BY c.relname, a.attnum`;

/** Unique keys usable to infer an ON CONFLICT arbiter: no expression, no predicate. */
const keysSql = (serverVersion: number): string => `
SELECT c.relname AS table_name, ic.relname AS key_name, i.indisprimary AS is_primary,
       array(SELECT a.attname FROM unnest(i.indkey) WITH ORDINALITY k(attnum, ord)
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum ORDER BY k.ord)::text[] AS columns,
       NOT EXISTS (SELECT FROM unnest(i.indkey) k(attnum)
                   JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                   WHERE NOT a.attnotnull) AS not_null,
       ${serverVersion >= 150000 ? 'i.indnullsnotdistinct' : 'false'} AS nulls_not_distinct,
       NOT i.indimmediate AS deferrable,
       array(SELECT CASE WHEN o.opcdefault THEN format_type(o.opcintype, NULL) END
               FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
               LEFT JOIN unnest(i.indclass::oid[]) WITH ORDINALITY x(opclass, ord) ON x.ord = k.ord
               LEFT JOIN pg_opclass o ON o.oid = x.opclass
              ORDER BY k.ord)::text[] AS equality
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
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
  /** Null for a table without columns (one row for the table, none for its columns). */
  column_name: string | null;
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
  key_name: string;
  is_primary: boolean;
  columns: string[];
  not_null: boolean;
  nulls_not_distinct: boolean;
  deferrable: boolean;
  equality: (string | null)[];
}

/** Inheritance links (partitions aside) with either end among the named tables. */
const INHERITANCE_SQL = `
SELECT cn.nspname AS child_schema, c.relname AS child_table,
       pn.nspname AS parent_schema, p.relname AS parent_table
FROM pg_inherits i
JOIN pg_class c ON c.oid = i.inhrelid
JOIN pg_namespace cn ON cn.oid = c.relnamespace
JOIN pg_class p ON p.oid = i.inhparent
JOIN pg_namespace pn ON pn.oid = p.relnamespace
WHERE NOT c.relispartition AND p.relkind <> 'p'
  AND ((cn.nspname = $1 AND c.relname = ANY($2::text[]))
    OR (pn.nspname = $1 AND p.relname = ANY($2::text[])))
ORDER BY 1, 2, 3, 4`;

/** The server version, whether the schema exists, and the database's identity: one round trip. */
const DATABASE_SQL = `
SELECT current_setting('server_version_num') AS version,
       EXISTS (SELECT FROM pg_namespace WHERE nspname = $1) AS schema_exists,
       concat_ws('/', pg_postmaster_start_time(), current_setting('port'), d.oid, d.datname) AS identity,
       (SELECT coalesce(json_object_agg(name, installed_version IS NOT NULL), '{}')
          FROM pg_available_extensions WHERE name IN ('dblink', 'postgres_fdw')) AS extensions
FROM pg_database d WHERE d.datname = current_database()`;

interface InheritanceRow {
  child_schema: string;
  child_table: string;
  parent_schema: string;
  parent_table: string;
}

interface DatabaseRow {
  version: string;
  schema_exists: boolean;
  identity: string;
  /** Extension name: installed (true) or only available (false); absent: not on this server. */
  extensions: Record<string, boolean>;
}

/** A server-side copy extension on one server. */
export type ExtensionState = 'installed' | 'available' | 'missing';

function extensionState(found: boolean | undefined): ExtensionState {
  return found === undefined ? 'missing' : found ? 'installed' : 'available';
}

/** Drops a leading `schema.` that format_type adds to user types outside the search path. */
function unqualifiedType(type: string, typeSchema: string, userDefined: boolean): string {
  if (!userDefined || typeSchema === 'pg_catalog') return type;
  const prefixes = [`"${typeSchema.replaceAll('"', '""')}".`, `${typeSchema}.`];
  const prefix = prefixes.find((p) => type.startsWith(p));
  return prefix ? type.slice(prefix.length) : type;
}

function toColumn(row: ColumnRow & { column_name: string }): ColumnInfo {
  const userDefined =
    Number(row.type_oid) >= FIRST_USER_OID || Number(row.elem_oid) >= FIRST_USER_OID;
  return {
    name: row.column_name,
    type: unqualifiedType(row.type, row.type_schema, userDefined),
    typeSql: row.type,
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
  const database = await client.query<DatabaseRow>(DATABASE_SQL, [schema]);
  const { version, schema_exists, identity, extensions } = database.rows[0] as DatabaseRow;
  const serverVersion = Number(version);
  const columnRows = await client.query<ColumnRow>(COLUMNS_SQL, [schema, names]);
  const keyRows = await client.query<KeyRow>(keysSql(serverVersion), [schema, names]);
  const foreignKeys = await readForeignKeys(client, schema, names);
  const sequences = await readColumnSequences(client, schema, names);
  const triggers = await readTriggers(client, schema, names);
  const callingUserFunctions = await readTablesCallingUserFunctions(client, schema, names);
  const inheritance = await client.query<InheritanceRow>(INHERITANCE_SQL, [schema, names]);
  const tables = new Map<
    string,
    TableInfo & {
      columns: ColumnInfo[];
      keys: UniqueKey[];
      inheritanceChildren: TableRef[];
      inheritsFrom: TableRef[];
    }
  >();
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
        callsUserFunctions: callingUserFunctions.has(row.table_name),
        inheritanceChildren: [],
        inheritsFrom: [],
        estimatedRows: row.estimated_rows,
        estimatedBytes: row.estimated_bytes,
      };
      tables.set(row.table_name, table);
    }
    if (row.column_name !== null)
      table.columns.push(toColumn({ ...row, column_name: row.column_name }));
  }
  for (const row of keyRows.rows) {
    tables.get(row.table_name)?.keys.push({
      name: row.key_name,
      primary: row.is_primary,
      columns: row.columns,
      notNull: row.not_null,
      nullsNotDistinct: row.nulls_not_distinct,
      deferrable: row.deferrable,
      equality: row.equality,
    });
  }
  for (const link of inheritance.rows) {
    const child = { schema: link.child_schema, table: link.child_table };
    const parent = { schema: link.parent_schema, table: link.parent_table };
    if (child.schema === schema) tables.get(child.table)?.inheritsFrom.push(parent);
    if (parent.schema === schema) tables.get(parent.table)?.inheritanceChildren.push(child);
  }
  return {
    serverVersion,
    schema,
    schemaExists: schema_exists,
    databaseIdentity: identity,
    extensions: {
      dblink: extensionState(extensions.dblink),
      postgres_fdw: extensionState(extensions.postgres_fdw),
    },
    tables,
  };
}
