import type pg from 'pg';
import type { TableInfo } from '../db/catalog.js';
import { quoteIdent } from '../db/quote.js';
import { withUserSearchPath } from '../db/search-path.js';
import { catalogQualifiedTypeSql } from '../db/type-sql.js';
import { describeError } from '../errors.js';
import { relationSql } from '../copy/sql.js';
import { redactMessage } from '../report/redact-values.js';
import { maskOf, sourceColumnName, type TablePlan } from './types.js';

/** Values read per source table to try a conversion with: enough to catch a type that never fits. */
export const SAMPLE_ROWS = 100;

/**
 * Reads the text form of a few values of the source's columns, as COPY prints them (the first
 * rows, not the `where` filter's: a filter may match few rows of a huge table). Cached per table
 * and column.
 */
export class SourceSampler {
  private readonly cache = new Map<string, Promise<ReadonlyMap<string, readonly string[]>>>();

  constructor(
    private readonly client: pg.ClientBase,
    private readonly schema: string,
  ) {}

  async values(
    table: TableInfo,
    columns: readonly string[],
  ): Promise<ReadonlyMap<string, readonly string[]>> {
    const key = `${table.name}\0${columns.join('\0')}`;
    let sample = this.cache.get(key);
    if (!sample) {
      sample = this.read(table, columns);
      this.cache.set(key, sample);
    }
    return sample;
  }

  private async read(
    table: TableInfo,
    columns: readonly string[],
  ): Promise<ReadonlyMap<string, readonly string[]>> {
    // format('%s') is the type's output function, as COPY prints the value; a cast to text is a
    // function of its own for some types (bool prints true, inet adds /32, char(n) loses its spaces).
    const list = columns
      .map((c, i) => {
        const column = quoteIdent(c);
        return `CASE WHEN ${column} IS NULL THEN NULL ELSE format('%s', ${column}) END AS ${quoteIdent(`c${i}`)}`;
      })
      .join(', ');
    const result = await this.client.query<Record<string, string | null>>(
      `SELECT ${list} FROM ${relationSql(this.schema, table.name, table.kind)} LIMIT ${SAMPLE_ROWS}`,
    );
    return new Map(
      columns.map((c, i) => [
        c,
        result.rows
          .map((r) => r[`c${i}`])
          .filter((v): v is string => v !== null && v !== undefined),
      ]),
    );
  }
}

interface Rejection {
  rejected: number;
  message: string | undefined;
}

/**
 * How many of `values` the target type's input function refuses, as COPY's text input would.
 * PostgreSQL 16+ answers without raising (pg_input_is_valid); older servers cast each distinct
 * value under a savepoint. `typeSql` is format_type()'s own output.
 */
async function rejectedValues(
  client: pg.ClientBase,
  serverVersion: number,
  values: readonly string[],
  typeSql: string,
): Promise<Rejection> {
  if (serverVersion >= 160000) {
    const result = await client.query<{ rejected: number; message: string | null }>(
      `SELECT pg_catalog.count(*)::pg_catalog.int4 AS rejected,
              pg_catalog.min((pg_catalog.pg_input_error_info(v, $2)).message) AS message
         FROM pg_catalog.unnest($1::pg_catalog.text[]) v WHERE NOT pg_catalog.pg_input_is_valid(v, $2)`,
      [values, typeSql],
    );
    const row = result.rows[0];
    return { rejected: row?.rejected ?? 0, message: row?.message ?? undefined };
  }
  let rejected = 0;
  let message: string | undefined;
  for (const value of new Set(values)) {
    const failure = await castFailure(client, value, typeSql);
    if (failure === undefined) continue;
    rejected += values.filter((v) => v === value).length;
    message ??= failure;
  }
  return { rejected, message };
}

/** Casts one value under a savepoint: PostgreSQL's message when the type refuses it. */
async function castFailure(
  client: pg.ClientBase,
  value: string,
  typeSql: string,
): Promise<string | undefined> {
  await client.query('SAVEPOINT pgcopy_probe');
  try {
    // format_type() output is SQL that PostgreSQL itself quoted; a cast cannot take it as a parameter.
    await client.query(`SELECT CAST($1::pg_catalog.text AS ${typeSql})`, [value]);
    await client.query('RELEASE SAVEPOINT pgcopy_probe');
    return undefined;
  } catch (error) {
    await client.query('ROLLBACK TO SAVEPOINT pgcopy_probe');
    return describeError(error);
  }
}

/**
 * Tries every column converted through text on a sample of the source's values: a pair of types
 * whose values the target refuses (money into numeric, a range into a multirange) is a plan error,
 * not a failure on the first row of the run. With a `where` filter, only a sample refused whole is
 * an error (the filtered rows may all fit); a partly refused one is a warning.
 */
export async function probeConversions(
  plans: readonly TablePlan[],
  context: {
    readonly sampler: SourceSampler;
    readonly sourceTables: ReadonlyMap<string, TableInfo>;
    readonly target: pg.ClientBase;
    readonly targetTables: ReadonlyMap<string, TableInfo>;
    readonly targetVersion: number;
  },
): Promise<TablePlan[]> {
  const probed: TablePlan[] = [];
  await context.target.query('BEGIN READ ONLY');
  try {
    for (const plan of plans) {
      const source = context.sourceTables.get(plan.sourceTable);
      const target = context.targetTables.get(plan.targetTable);
      // A masked column's source values are not what the copy sends: they are not sampled.
      const casts = plan.casts.filter((c) => !maskOf(plan, c.column));
      if (plan.errors.length > 0 || casts.length === 0 || !source || !target) {
        probed.push(plan);
        continue;
      }
      // Casts name target columns; the sample is read under the source's (columns.rename).
      const sample = await context.sampler.values(
        source,
        casts.map((c) => sourceColumnName(plan, c.column)),
      );
      const errors: string[] = [];
      const warnings: string[] = [];
      for (const cast of casts) {
        const values = sample.get(sourceColumnName(plan, cast.column)) ?? [];
        const column = target.columns.find((c) => c.name === cast.column);
        if (values.length === 0 || !column) continue;
        // A domain's check may call the target's own functions: as in the load, they run under
        // the session's configured search_path, and the probe names everything by its schema.
        const { rejected, message } = await withUserSearchPath(
          context.target,
          column.typtype === 'd',
          () =>
            rejectedValues(
              context.target,
              context.targetVersion,
              values,
              catalogQualifiedTypeSql(column.typeSql),
            ),
        );
        if (rejected === 0) continue;
        const why = message ?? 'invalid input';
        const text = `column "${cast.column}": ${cast.from} -> ${cast.to}: the target refuses ${rejected} of ${values.length} sampled source values (${plan.redactValues ? redactMessage(why) : why})`;
        if (plan.where === undefined || rejected === values.length) errors.push(text);
        else warnings.push(`${text}; the copy fails if the filtered rows hold such values`);
      }
      probed.push({
        ...plan,
        errors: [...plan.errors, ...errors],
        warnings: [...plan.warnings, ...warnings],
      });
    }
  } finally {
    await context.target.query('ROLLBACK');
  }
  return probed;
}
