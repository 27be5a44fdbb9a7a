import type { TableInfo } from '../db/catalog.js';

/** The integer types whose ranges a key split reads (`WHERE key >= lo AND key < hi`). */
const INTEGER_TYPES: ReadonlySet<string> = new Set(['smallint', 'integer', 'bigint']);

/** What a key split needs of a column, as the plan says when a table has none. */
export const INTEGER_KEY_NEEDS =
  'a single-column NOT NULL unique key of type smallint, integer or bigint';

/**
 * The source column a table can be split on when block ranges cannot be used: a single-column
 * primary key or unique index (no predicate, no expression: the catalog reads only those) on a
 * NOT NULL smallint, integer or bigint. Unique and never NULL, its ranges hold every row of the
 * snapshot exactly once. The primary key first (the catalog lists it first).
 */
export function integerKeyOf(table: TableInfo | undefined): string | undefined {
  const key = table?.keys.find((k) => {
    const [column] = k.columns;
    const type = table.columns.find((c) => c.name === column)?.type;
    return k.columns.length === 1 && k.notNull && type !== undefined && INTEGER_TYPES.has(type);
  });
  return key?.columns[0];
}
