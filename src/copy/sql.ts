import { qualifiedName, quoteIdent, quoteLiteral } from '../db/quote.js';
import { catalogQualifiedTypeSql, isQualifiedTypeSql } from '../db/type-sql.js';
import { readColumnsOf, type ReadColumn } from '../plan/read-columns.js';
import { maskOf, sourceColumnName, type TablePlan } from '../plan/types.js';

/** The SQL of one table's copy, every identifier quoted through quoteIdent. */

/**
 * Session settings for both ends of a copy, so that a value's text form is exact and read back the
 * same whatever the server's, database's or role's defaults: ISO dates (a `SQL, DMY` source would
 * otherwise be misread by an `MDY` target), unambiguous interval signs, shortest-exact floats (with
 * extra_float_digits <= 0 a float loses digits), hex bytea, and money without a locale.
 * The time zone is left alone: timestamptz's text form carries its offset.
 * No idle-in-transaction timeout (a worker waits, in its transaction, on the other side) and no
 * statement timeout (one COPY may rightly take hours).
 */
export const SESSION_SETTINGS_SQL = [
  `SET DateStyle = 'ISO'`,
  `SET IntervalStyle = 'postgres'`,
  `SET extra_float_digits = 3`,
  `SET bytea_output = 'hex'`,
  `SET lc_monetary = 'C'`,
  `SET idle_in_transaction_session_timeout = 0`,
  `SET statement_timeout = 0`,
  // As pg_dump does: a policy that would hide rows raises an error instead of filtering silently.
  `SET row_security = off`,
].join('; ');

/**
 * The relation as a statement that must touch that table only: `ONLY` for a table (or foreign
 * table), whose inheritance children are tables of their own; a partitioned table's rows are its
 * partitions', so it is named whole (PostgreSQL refuses `TRUNCATE ONLY` on it).
 */
export function relationSql(schema: string, table: string, kind: string): string {
  const name = qualifiedName(schema, table);
  return kind === 'r' || kind === 'f' ? `ONLY ${name}` : name;
}

export function sourceRelation(plan: TablePlan): string {
  return relationSql(plan.sourceSchema, plan.sourceTable, plan.sourceKind);
}

export function targetRelation(plan: TablePlan): string {
  return relationSql(plan.targetSchema, plan.targetTable, plan.targetKind);
}

/** `WHERE (filter)`; the parenthesis on its own line so that a trailing `-- comment` cannot swallow it. */
export function whereClause(where: string | undefined): string {
  return where === undefined ? '' : ` WHERE (${where}\n)`;
}

export function columnList(columns: readonly string[]): string {
  return columns.map(quoteIdent).join(', ');
}

export function copyOptions(format: 'binary' | 'text'): string {
  return format === 'binary' ? '(FORMAT binary)' : '(FORMAT text)';
}

/**
 * The written columns as the source names them, each under its target name where `columns.rename`
 * differs (`"a" AS "b"`), and a column a data rule replaces as the rule's expression (under the
 * target name): rows read this way fit the target's column list whatever the strategy, and a
 * masked value is computed by the source. The one select list of every read of a table (COPY,
 * dblink, fdw-push, and whatever else reads rows for a target, such as sync).
 */
export function sourceSelectList(plan: Pick<TablePlan, 'columns' | 'renamed' | 'masks'>): string {
  return plan.columns
    .map((column) => {
      const mask = maskOf(plan, column);
      if (mask) return `${mask.sql} AS ${quoteIdent(column)}`;
      const source = sourceColumnName(plan, column);
      return source === column
        ? quoteIdent(column)
        : `${quoteIdent(source)} AS ${quoteIdent(column)}`;
    })
    .join(', ');
}

/**
 * SELECT shared columns FROM ONLY source [WHERE filter]; the filter is checked. `select`: the
 * plan's own columns, or a shared read's (every member's source columns, each once).
 */
export function selectSourceSql(plan: TablePlan, select = sourceSelectList(plan)): string {
  return `SELECT ${select} FROM ${sourceRelation(plan)}${whereClause(plan.where)}`;
}

export function copyOutSql(
  plan: TablePlan,
  columns: readonly ReadColumn[] = readColumnsOf(plan),
): string {
  const named = namedColumns(plan, columns);
  const rows =
    named === undefined
      ? `(${selectSourceSql(plan, columns.map((c) => c.sql).join(', '))})`
      : `${qualifiedName(plan.sourceSchema, plan.sourceTable)} (${columnList(named)})`;
  return `COPY ${rows} TO STDOUT WITH ${copyOptions(plan.format)}`;
}

/**
 * A COPY after the statements that begin its transaction, in one query string (one wait fewer):
 * the COPY streams skip those statements' results. The COPY alone when `begin` is undefined.
 */
export function afterBegin(begin: string | undefined, copy: string): string {
  return begin === undefined ? copy : `${begin}; ${copy}`;
}

/**
 * The source columns to name in `COPY table (columns) TO`, when the read is a plain table's
 * columns as they are: the server then scans the table itself, with no query to plan and no row
 * to project (the source's CPU per row drops by 5-10 %), and reads that table only, as `ONLY`
 * does. Anything else is read through a query: a filter, a data rule's expression, a column read
 * twice, a generated column (COPY refuses to name one), policies to apply, or a relation COPY TO
 * cannot name (a partitioned table, a view, a materialized view, a foreign table).
 */
function namedColumns(plan: TablePlan, columns: readonly ReadColumn[]): string[] | undefined {
  if (plan.sourceKind !== 'r' || plan.where !== undefined || plan.rowSecurity === 'apply') {
    return undefined;
  }
  const names = columns.map((c) => c.source);
  const plain = columns.every((c) => c.sql === quoteIdent(c.source));
  const generated = new Set(plan.sourceGenerated);
  if (!plain || names.length === 0 || names.some((n) => generated.has(n))) return undefined;
  return new Set(names).size === names.length ? names : undefined;
}

/**
 * `"col" type, ...` of the written columns (target names), in the types of one side (format_type
 * output, which PostgreSQL itself quoted): a dblink column definition list or a foreign table's
 * columns. `foreignSource`: a foreign table over the source table, whose renamed columns say
 * which remote column they read (postgres_fdw's column_name option).
 */
export function columnDefinitions(
  plan: TablePlan,
  side: 'source' | 'target',
  foreignSource = false,
): string {
  return plan.columns
    .map((name) => {
      const pair = plan.pairs.find((p) => p.name === name);
      const type = side === 'source' ? pair?.sourceTypeSql : pair?.targetTypeSql;
      if (type === undefined) throw new Error(`no ${side} type for column ${name}`);
      const remote = sourceColumnName(plan, name);
      const option =
        foreignSource && remote !== name ? ` OPTIONS (column_name ${quoteLiteral(remote)})` : '';
      return `${quoteIdent(name)} ${catalogQualifiedTypeSql(type)}${option}`;
    })
    .join(', ');
}

/** `INSERT INTO destination (cols) [OVERRIDING SYSTEM VALUE] SELECT cols FROM <rows>`. */
export function insertSelectSql(plan: TablePlan, destination: string, rows: string): string {
  // The staging table is a plain copy of the columns: no identity to override there.
  const overriding =
    plan.overridingSystemValue && destination === targetName(plan)
      ? ' OVERRIDING SYSTEM VALUE'
      : '';
  return `INSERT INTO ${destination} (${columnList(plan.columns)})${overriding} SELECT ${columnList(plan.columns)} FROM ${rows}`;
}

export function targetName(plan: TablePlan): string {
  return qualifiedName(plan.targetSchema, plan.targetTable);
}

/** Always schema-qualified: a user table of the same name can never stand in for it. */
export const STAGING_TABLE = `pg_temp.${quoteIdent('pgcopy_staging')}`;

/** A temporary table with exactly the written columns and the target's types; dropped at commit. */
export function createStagingSql(plan: TablePlan): string {
  return `CREATE TEMPORARY TABLE ${STAGING_TABLE} ON COMMIT DROP AS SELECT ${columnList(plan.columns)} FROM ${targetRelation(plan)} WITH NO DATA`;
}

export function truncateSql(plan: TablePlan): string {
  return `TRUNCATE TABLE ${targetRelation(plan)}`;
}

/** A truncate group's tables in one statement: PostgreSQL then allows the foreign keys among them. */
export function groupTruncateSql(members: readonly TablePlan[]): string {
  return `TRUNCATE TABLE ${members.map(targetRelation).join(', ')}`;
}

/** COPY into `table`; a table without columns takes rows without a column list. */
export function copyInSql(plan: TablePlan, table: string): string {
  const columns = plan.columns.length > 0 ? ` (${columnList(plan.columns)})` : '';
  // Truncate mode emptied the table in this same transaction, so its rows may be written frozen:
  // no later pass to set hint bits or freeze them (PostgreSQL refuses it on a partitioned table).
  const freeze = plan.mode === 'truncate' && plan.targetKind === 'r' && table === targetName(plan);
  const options = freeze
    ? copyOptions(plan.format).replace(/\)$/, ', FREEZE)')
    : copyOptions(plan.format);
  return `COPY ${table}${columns} FROM STDIN WITH ${options}`;
}

/** The target's alias in the upsert, for its WHERE clause to name the row already there. */
const EXISTING = quoteIdent('pgcopy_existing');

/**
 * The staged rows into the target: INSERT ... ON CONFLICT (key), counting what it did.
 * upsert: DO UPDATE of the non-key columns, only where the row differs; insert-new (or a table
 * whose written columns are all key columns): DO NOTHING. GENERATED ALWAYS identity columns are
 * inserted (OVERRIDING SYSTEM VALUE) but never updated: PostgreSQL refuses it (428C9).
 *
 * A row differs when the text form of one of its updated columns does: every type has one (json,
 * xml and point have no equality operator for IS DISTINCT FROM), and a value the type calls equal
 * but that prints differently (numeric 1.0 and 1.00, citext's case) is a change a copy must carry.
 *
 * RETURNING returns a row for each one inserted or updated, none for DO NOTHING or a false WHERE.
 * `xmax = 0` tells the two apart: a freshly inserted tuple has no xmax, while DO UPDATE first locks
 * the existing row and the new version it writes keeps this transaction's id as its xmax, so it is
 * never 0. The rest of the staged rows are the ones left unchanged. PostgreSQL returns no system
 * column from a partitioned table (0A000): there, the staged rows whose key the table already
 * holds are counted in the same statement, so in the same snapshot as the INSERT (a key committed
 * by another session while it runs, or a NULL in a NULLS NOT DISTINCT key, would count as new).
 */
export function writeStagedSql(plan: TablePlan, key: readonly string[]): string {
  const keep = new Set([...key, ...(plan.identityAlways ?? [])]);
  const updates = plan.mode === 'upsert' ? plan.columns.filter((c) => !keep.has(c)) : [];
  // Arrays of the text forms: array equality holds NULLs equal, as IS NOT DISTINCT FROM does, and
  // its operator can be named with its schema (IS DISTINCT FROM's cannot).
  const text = (row: string): string =>
    `ARRAY[${updates.map((c) => `${row}.${quoteIdent(c)}::pg_catalog.text`).join(', ')}]::pg_catalog.text[]`;
  const action =
    updates.length === 0
      ? 'DO NOTHING'
      : `DO UPDATE SET ${updates.map((c) => `${quoteIdent(c)} = EXCLUDED.${quoteIdent(c)}`).join(', ')} WHERE NOT (${text(EXISTING)} OPERATOR(pg_catalog.=) ${text('EXCLUDED')})`;
  const overriding = plan.overridingSystemValue ? ' OVERRIDING SYSTEM VALUE' : '';
  const insert = `INSERT INTO ${targetName(plan)} AS ${EXISTING} (${columnList(plan.columns)})${overriding} SELECT ${columnList(plan.columns)} FROM ${STAGING_TABLE} ON CONFLICT (${columnList(key)}) ${action}`;
  const count = (filter: string): string =>
    `pg_catalog.count(*) FILTER (WHERE ${filter})::pg_catalog.int8::pg_catalog.text`;
  if (plan.targetKind !== 'p') {
    return `WITH written AS (${insert} RETURNING (xmax OPERATOR(pg_catalog.=) 0) AS inserted) SELECT ${count('inserted')} AS inserted, ${count('NOT inserted')} AS updated FROM written`;
  }
  const same = key.map((c) =>
    keyEquals(plan, c, `${EXISTING}.${quoteIdent(c)}`, `staged.${quoteIdent(c)}`),
  );
  const found = `EXISTS (SELECT FROM ${targetName(plan)} AS ${EXISTING} WHERE ${same.join(' AND ')})`;
  const minus = 'OPERATOR(pg_catalog.-)';
  return `WITH existing AS (SELECT pg_catalog.count(*) FILTER (WHERE ${found}) AS found, pg_catalog.count(*) AS staged FROM ${STAGING_TABLE} AS staged), written AS (${insert} RETURNING 1) SELECT (staged ${minus} found)::pg_catalog.int8::pg_catalog.text AS inserted, ((SELECT pg_catalog.count(*) FROM written) ${minus} (staged ${minus} found))::pg_catalog.int8::pg_catalog.text AS updated FROM existing`;
}

/**
 * `a = b` for a key column, with an operator named by its schema: pg_catalog's for a built-in type
 * (an index can serve it); for another schema's type, the equality of its default operator class
 * through array equality (whose operator is pg_catalog's), NULL never equal as with `=`.
 */
function keyEquals(plan: TablePlan, column: string, a: string, b: string): string {
  const typeSql = plan.pairs.find((p) => p.name === column)?.targetTypeSql;
  if (typeSql !== undefined && !isQualifiedTypeSql(typeSql)) {
    return `${a} OPERATOR(pg_catalog.=) ${b}`;
  }
  return `(ARRAY[${a}] OPERATOR(pg_catalog.=) ARRAY[${b}] AND ${b} IS NOT NULL)`;
}

/**
 * A key the staged rows hold more than once, with the number of such keys: ON CONFLICT would keep
 * an arbitrary one of those rows. A row with a NULL in its key is no one's duplicate, as in the
 * target's unique index, unless that index is NULLS NOT DISTINCT. The key's values in their text
 * form, as PostgreSQL's own 23505 detail shows them. Grouped by sorting: over the staging table's
 * one key column, a sort costs a third of a hash aggregate that spills (500,000 rows: 0.35 s
 * against 1 s), so hash aggregation is off for this one statement.
 */
export function repeatedKeySql(plan: TablePlan, key: readonly string[]): string {
  const columns = columnList(key);
  // It may run under the target's configured search_path: every function, operator and type
  // named with its schema.
  const values = key.map((c) => `${quoteIdent(c)}::pg_catalog.text`).join(', ');
  const notNull = plan.conflictNullsEqual
    ? ''
    : ` WHERE ${key.map((c) => `${quoteIdent(c)} IS NOT NULL`).join(' AND ')}`;
  const repeated = `WITH repeated AS (SELECT ARRAY[${values}] AS key, pg_catalog.count(*) AS copies FROM ${STAGING_TABLE}${notNull} GROUP BY ${columns} HAVING pg_catalog.count(*) OPERATOR(pg_catalog.>) 1) SELECT key, copies::pg_catalog.text AS copies, (SELECT pg_catalog.count(*) FROM repeated)::pg_catalog.text AS keys FROM repeated LIMIT 1`;
  return `SET LOCAL enable_hashagg = off; ${repeated}; RESET enable_hashagg`;
}
