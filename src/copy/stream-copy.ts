import type pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { pipeline } from 'node:stream/promises';
import { CopyError } from '../errors.js';
import { pairName, type TablePlan } from '../plan/types.js';
import { CopyRowCounter, type CopyCounts } from './row-counter.js';
import { advanceSequences } from './sequences.js';
import {
  STAGING_TABLE,
  copyInSql,
  copyOutSql,
  createStagingSql,
  targetName,
  truncateSql,
  upsertSql,
} from './sql.js';

export interface LoadResult {
  /** Rows read from the source. */
  readonly rows: number;
  /** Rows inserted or updated in the target (upsert: may be fewer than rows, with DO NOTHING). */
  readonly written: number;
  readonly bytes: number;
  readonly sequences: readonly string[];
  /** Sequences that could not be advanced (the rows are kept). */
  readonly warnings: readonly string[];
}

export interface StreamCopyOptions {
  readonly signal?: AbortSignal | undefined;
  readonly onProgress?: ((counts: CopyCounts) => void) | undefined;
}

/**
 * Loads one table inside one target transaction: COPY TO STDOUT on the source piped into COPY FROM
 * STDIN on the target. The caller has opened the source's snapshot transaction and BEGUN the target
 * transaction; it commits or rolls back. A failure anywhere destroys the COPY FROM stream (CopyFail),
 * so nothing of the table is kept.
 */
export async function streamCopy(
  source: pg.ClientBase,
  target: pg.ClientBase,
  plan: TablePlan,
  options: StreamCopyOptions = {},
): Promise<LoadResult> {
  // Off for this transaction only; the plan checked that the role may.
  if (plan.disableTriggers) await target.query(`SET LOCAL session_replication_role = replica`);
  if (plan.mode === 'truncate') await target.query(truncateSql(plan));
  const upsert = plan.mode === 'upsert';
  if (upsert) await target.query(createStagingSql(plan));
  // COPY FROM and INSERT write the named table only: no ONLY there (nor is it allowed).
  const destination = upsert ? STAGING_TABLE : targetName(plan);

  const counter = new CopyRowCounter(plan.format, options.onProgress);
  const output = source.query(copyTo(copyOutSql(plan)));
  const input = target.query(copyFrom(copyInSql(plan, destination)));
  await pipeline(output, counter, input, options.signal ? { signal: options.signal } : {});
  const rows = input.rowCount;

  let written = rows;
  if (upsert) {
    const key = plan.conflictKey;
    if (!key) throw new CopyError(pairName(plan), 'upsert without a conflict key');
    written = (await target.query(upsertSql(plan, key))).rowCount ?? 0;
  }
  const sequences = await advanceSequences(target, plan);
  return {
    rows,
    written,
    bytes: counter.counts.bytes,
    sequences: sequences.advanced,
    warnings: sequences.warnings,
  };
}
