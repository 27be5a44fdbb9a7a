import * as z from 'zod';
import { MODES, STRATEGIES } from '../config/types.js';
import type { Assert, DeepReadonly, Same } from '../type-checks.js';
import type { RunReport, TableError, TableResult } from './events.js';

/**
 * The JSON report (`--report FILE`, and the `report` of `run --json`'s run-end line) as a zod
 * schema: `npm run schema` writes pgcopy.report.schema.json from it, and the checks at the end of
 * this file fail to compile when it and the report's types in events.ts part ways.
 */

const count = z.int().min(0);
const names = z.array(z.string());

const tableError = z
  .strictObject({
    message: z.string(),
    code: z.string().describe('PGCOPY error code (CONFIG, CONNECT, COPY, ABORTED, ...).'),
    sqlstate: z.string().optional().describe("PostgreSQL's SQLSTATE, when the server failed."),
    transient: z.boolean().optional().describe('A failure that a new attempt may not meet.'),
  })
  .meta({ id: 'tableError', title: 'Error' });

const tableResult = z
  .strictObject({
    target: z.string().describe("The target's name."),
    source: z.string().describe('Source table.'),
    table: z.string().describe('Target table.'),
    status: z.enum(['done', 'warnings', 'error', 'unknown']),
    rows: count,
    changes: z
      .strictObject({ inserted: count, updated: count, unchanged: count })
      .optional()
      .describe('upsert and insert-new: rows inserted, updated and left as they were.'),
    bytes: count,
    seconds: z.number().min(0),
    strategy: z.enum(STRATEGIES),
    format: z.enum(['binary', 'text']),
    mode: z.enum(MODES),
    columns: names.describe('Columns copied.'),
    skipped: z.strictObject({
      sourceOnly: names.describe('Source columns the target lacks.'),
      targetOnly: names.describe('Target columns the source lacks (left to their defaults).'),
    }),
    warnings: names,
    warningCodes: names
      .optional()
      .describe('The code of each warning, in the same order (docs/warnings.md).'),
    acknowledged: names
      .optional()
      .describe("Codes among them the config's acknowledge lists: the table is done."),
    error: tableError.nullable(),
    rolledBack: z
      .strictObject({ rows: count, bytes: count })
      .optional()
      .describe('A failed table: what was read before it failed, then rolled back.'),
    indexes: z
      .strictObject({ rebuilt: names, seconds: z.number().min(0) })
      .optional()
      .describe('rebuildIndexes: indexes dropped for the load and created again before COMMIT.'),
    verified: z
      .strictObject({ rows: count, seconds: z.number().min(0) })
      .optional()
      .describe('run --verify: the rows compared before COMMIT.'),
    planHash: z
      .string()
      .optional()
      .describe('run --resume skips a done pair while it is unchanged.'),
    resumed: z
      .boolean()
      .optional()
      .describe("Skipped by run --resume or the same run id: the earlier run's result."),
    committedBefore: z
      .strictObject({ at: z.string(), rows: count })
      .optional()
      .describe("Skipped: the target's ledger records it committed under this run id."),
    attempts: z.int().min(1).optional().describe('1 + retries; absent when it never started.'),
  })
  .meta({ id: 'tableResult', title: 'One (target, table) pair' });

const runReportShape = {
  runId: z.string().optional().describe('The run id (given, or generated).'),
  version: z.string().optional().describe('The pgcopy version that wrote the report.'),
  startedAt: z.string().describe('ISO 8601.'),
  finishedAt: z.string().describe('ISO 8601.'),
  status: z.enum(['done', 'warnings', 'error', 'unknown']),
  snapshot: z.string().nullable().describe('The exported snapshot the tables were read from.'),
  configId: z.string().optional().describe('Which source and targets the run copied between.'),
  snapshots: names.optional().describe('Every snapshot read from, when the first was lost.'),
  tables: z.array(tableResult),
};

/** A RunReport as the engine produces it (`run --json`'s run-end line: no `error` when none). */
export const runReportSchema = z.strictObject({ ...runReportShape, error: tableError.optional() });

/** The `--report` file: `error` is null unless the run stopped before its tables ran. */
export const reportFileSchema = z
  .strictObject({
    ...runReportShape,
    error: tableError.nullable().describe('Why the run stopped before its tables ran.'),
  })
  .meta({ title: 'pgcopy run report' });

/** The report file's JSON schema text, as `npm run schema` writes it. */
export function reportJsonSchemaText(): string {
  const schema = z.toJSONSchema(reportFileSchema, { target: 'draft-2020-12' });
  return JSON.stringify(schema, null, 2) + '\n';
}

// Compile-time checks: the schema's output and the report's types accept each other, and (as an
// optional key one side lacks would still pass that) have the same keys.
export type ReportTypesMatch = [
  Assert<Same<DeepReadonly<z.output<typeof runReportSchema>>, RunReport>>,
  Assert<Same<DeepReadonly<z.output<typeof tableResult>>, TableResult>>,
  Assert<Same<DeepReadonly<z.output<typeof tableError>>, TableError>>,
  Assert<Same<keyof z.output<typeof runReportSchema>, keyof RunReport>>,
  Assert<Same<keyof z.output<typeof tableResult>, keyof TableResult>>,
  Assert<Same<keyof z.output<typeof tableError>, keyof TableError>>,
];
