import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { pipeline } from 'node:stream/promises';
import { closeDestination } from '../destination.js';
import { CopyByteCounter } from '../byte-counter.js';
import { copyInSql, copyOutSql } from '../sql.js';
import type { CopyStrategy, LoadContext, Loaded } from './types.js';

/**
 * COPY TO STDOUT on the source piped into COPY FROM STDIN on the target. A failure anywhere
 * destroys the COPY FROM stream (CopyFail), so nothing of the table is kept.
 */
export const streamStrategy: CopyStrategy = {
  writesOnSource: false,
  async load({
    plan,
    destination,
    source,
    target,
    signal,
    onProgress,
  }: LoadContext): Promise<Loaded> {
    const counter = new CopyByteCounter(onProgress);
    const output = source.query(copyTo(copyOutSql(plan)));
    const input = target.query(copyFrom(copyInSql(plan, destination)));
    await pipeline(output, counter, input, signal ? { signal } : {});
    // The target's `COPY n`: the rows it took, counted by PostgreSQL rather than in this process.
    const rows = input.rowCount;
    return { rows, ...(await closeDestination(target, plan, rows)), bytes: counter.bytes };
  },
};
