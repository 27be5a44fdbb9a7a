import { qualifiedName, quoteIdent, quoteLiteral } from '../db/quote.js';
import { SyncSchemaError } from '../errors.js';
import { positionKey } from './sync-state.js';
import type { SourceRelation, TableMapping, Tuple, TupleValue } from './types.js';
import { UNCHANGED_TOAST } from './types.js';

/**
 * Source types without a default equality operator (json, xml, the geometric types and their
 * arrays; box's `=` compares areas): a REPLICA IDENTITY FULL match compares their text.
 */
const COMPARED_AS_TEXT = new Set([
  114, 199, 142, 143, 600, 1017, 601, 1018, 602, 1019, 603, 1020, 604, 1027, 628, 629, 718, 719,
]);

/** One mapped column of a source relation. */
interface MappedColumn {
  /** Its position in the relation's tuples. */
  readonly index: number;
  /** The target column, quoted. */
  readonly target: string;
  readonly key: boolean;
  readonly asText: boolean;
  /** A GENERATED ALWAYS identity on the target: never SET. */
  readonly identityAlways: boolean;
}

/** An insert never holds an unchanged TOAST value; anything else than text is NULL. */
function textOrNull(value: TupleValue | undefined): string | null {
  return typeof value === 'string' ? value : null;
}

export function literal(value: string | null): string {
  return value === null ? 'NULL' : quoteLiteral(value);
}

/**
 * A statement as a prepared statement's text (`$n` parameters, their types inferred from the
 * target's columns) and the values of one execution, in PostgreSQL's text form.
 */
export interface Statement {
  readonly shape: string;
  readonly values: readonly (string | null)[];
}

/** Collects the values of one statement while its text is written. */
class Parameters {
  readonly values: (string | null)[] = [];

  add(value: string | null): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }

  /** `col = $n` (index-friendly), `col IS NULL` for a NULL. */
  matches(column: MappedColumn, value: string | null): string {
    if (value === null) return `${column.target} IS NULL`;
    const left = column.asText ? `${column.target}::text` : column.target;
    return `${left} = ${this.add(value)}`;
  }
}

/**
 * The SQL one source relation's changes become in one target table, through its mapping. Built
 * once per Relation message: a Relation message that lacks a mapped column fails here, naming the
 * table and the column; a column the mapping does not take is ignored.
 */
export class TableStatements {
  /** The target table in sync_state's key. */
  readonly positionKey: string;
  readonly target: string;
  /** The target for UPDATE, DELETE and TRUNCATE: ONLY unless partitioned (children are not ours). */
  readonly only: string;
  readonly insertOnly: boolean;
  private readonly columns: readonly MappedColumn[];
  private readonly insertColumns: string;
  private readonly overriding: string;

  constructor(
    readonly mapping: TableMapping,
    private readonly relation: SourceRelation,
  ) {
    this.positionKey = positionKey(mapping.targetSchema, mapping.targetTable);
    this.target = qualifiedName(mapping.targetSchema, mapping.targetTable);
    this.only = mapping.targetPartitioned === true ? this.target : `ONLY ${this.target}`;
    this.insertOnly = mapping.insertOnly === true;
    const identityAlways = new Set(mapping.identityAlways ?? []);
    const byName = new Map(relation.columns.map((c, index) => [c.name, { column: c, index }]));
    const columns: MappedColumn[] = [];
    for (const [source, target] of mapping.columns) {
      const found = byName.get(source);
      if (!found) {
        throw new SyncSchemaError(
          this.sourceName,
          source,
          `source table ${this.sourceName} has no column ${quoteIdent(source)} any more, which target ` +
            `table ${this.target} takes (as ${quoteIdent(target)}): put the column back on the source, ` +
            'or leave it out of the table in the config (columns.exclude) and copy the table again',
        );
      }
      columns.push({
        index: found.index,
        target: quoteIdent(target),
        key: found.column.key,
        asText: COMPARED_AS_TEXT.has(found.column.typeOid),
        identityAlways: identityAlways.has(target),
      });
    }
    columns.sort((a, b) => a.index - b.index);
    this.columns = columns;
    this.insertColumns = columns.map((c) => c.target).join(', ');
    this.overriding = mapping.overridingSystemValue === true ? ' OVERRIDING SYSTEM VALUE' : '';
  }

  get sourceName(): string {
    return `${this.relation.schema}.${this.relation.table}`;
  }

  /** `INSERT INTO t (cols)…VALUES`: rows of one table in a row are sent as one statement. */
  insertHead(): string {
    return `INSERT INTO ${this.target} (${this.insertColumns})${this.overriding} VALUES `;
  }

  /** One row's `(v1, v2, …)` as literals, for an INSERT of several rows. */
  insertValues(row: Tuple): string {
    return `(${this.columns.map((c) => literal(textOrNull(row[c.index]))).join(', ')})`;
  }

  /** One row's INSERT. */
  insert(row: Tuple): Statement {
    const p = new Parameters();
    const values = this.columns.map((c) => p.add(textOrNull(row[c.index]))).join(', ');
    return { shape: `${this.insertHead()}(${values})`, values: p.values };
  }

  update(row: Tuple, old: { kind: 'key' | 'full'; row: Tuple } | undefined): Statement | undefined {
    const p = new Parameters();
    const set: string[] = [];
    for (const c of this.columns) {
      const value = row[c.index];
      // An unchanged TOASTed value is not sent: the target keeps its own. Without an old key,
      // the key did not change: its columns are not set again.
      if (c.identityAlways || value === UNCHANGED_TOAST || value === undefined) continue;
      if (c.key && old === undefined && this.relation.replicaIdentity !== 'f') continue;
      set.push(`${c.target} = ${p.add(value)}`);
    }
    if (set.length === 0) return undefined;
    const where = this.where(p, old?.row ?? row, old?.kind === 'full');
    return { shape: `UPDATE ${this.only} SET ${set.join(', ')} WHERE ${where}`, values: p.values };
  }

  delete(old: { kind: 'key' | 'full'; row: Tuple }): Statement {
    const p = new Parameters();
    const where = this.where(p, old.row, old.kind === 'full');
    return { shape: `DELETE FROM ${this.only} WHERE ${where}`, values: p.values };
  }

  /**
   * Which target row: by the replica identity's columns, or (REPLICA IDENTITY FULL, no key) by
   * every mapped column, one row only, as the source changed one row.
   */
  private where(p: Parameters, row: Tuple, full: boolean): string {
    if (full || this.relation.replicaIdentity === 'f') {
      const conditions = this.columns.flatMap((c) => {
        const value = row[c.index];
        return value === UNCHANGED_TOAST || value === undefined ? [] : [p.matches(c, value)];
      });
      const filter = conditions.length > 0 ? conditions.join(' AND ') : 'true';
      return `(tableoid, ctid) = (SELECT tableoid, ctid FROM ${this.only} WHERE ${filter} LIMIT 1)`;
    }
    const keyColumns = this.relation.columns.filter((c) => c.key);
    if (keyColumns.length === 0) {
      throw new SyncSchemaError(
        this.sourceName,
        undefined,
        `source table ${this.sourceName} sent an update or delete without a replica identity: ` +
          'give it a primary key or REPLICA IDENTITY FULL, or sync it insert-only',
      );
    }
    return keyColumns
      .map((key) => {
        const column = this.columns.find((c) => this.relation.columns[c.index] === key);
        if (!column) {
          throw new SyncSchemaError(
            this.sourceName,
            key.name,
            `target table ${this.target} does not take column ${quoteIdent(key.name)} of source table ` +
              `${this.sourceName}, which identifies its rows (replica identity): updates and deletes ` +
              'cannot find their row; write the column to the target, or sync the table insert-only',
          );
        }
        const value = row[column.index];
        if (value === UNCHANGED_TOAST || value === undefined) {
          throw new SyncSchemaError(
            this.sourceName,
            key.name,
            `source table ${this.sourceName} did not send key column ${quoteIdent(key.name)} of a changed row`,
          );
        }
        return p.matches(column, value);
      })
      .join(' AND ');
  }
}
