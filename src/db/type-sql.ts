/** Types as SQL text that means the same type whatever the session's search_path. */

/** format_type names a type outside pg_catalog with its schema (pgcopy's search_path is pg_catalog's). */
export function isQualifiedTypeSql(typeSql: string): boolean {
  return /^(?:"(?:[^"]|"")*"|[^".\s([]+)\./.test(typeSql);
}

/** format_type's SQL-standard spellings: keywords the grammar maps to pg_catalog's types itself. */
const KEYWORD_TYPE =
  /^(?:bit|boolean|character|real|double precision|smallint|integer|bigint|numeric|interval|time|timestamp)(?![\w$])/;

/**
 * A type as SQL that means pg_catalog's type whatever the search_path: format_type leaves a
 * pg_catalog type unqualified (`text`, `jsonb[]`), which a user type of that name earlier in a
 * user's search_path would otherwise stand in for.
 */
export function catalogQualifiedTypeSql(typeSql: string): string {
  return isQualifiedTypeSql(typeSql) || KEYWORD_TYPE.test(typeSql)
    ? typeSql
    : `pg_catalog.${typeSql}`;
}
