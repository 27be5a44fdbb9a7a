import { pipeline } from 'node:stream/promises';
import { withUserSearchPath } from '../../db/search-path.js';
import { closeDestination } from '../destination.js';
import { copyInSql, copyOutSql } from '../sql.js';
import { CopyInWriter } from '../wire/copy-in-writer.js';
import { CopyOutReader } from '../wire/copy-out-reader.js';
import type { CopyStrategy, LoadContext, Loaded } from './types.js';

/**
 * COPY TO STDOUT on the source piped into COPY FROM STDIN on the target: each socket read of the
 * source goes to the target as one CopyData message (src/copy/wire); progress counts the payload
 * bytes. A failure anywhere destroys the COPY FROM stream (CopyFail), so nothing of the table is
 * kept.
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
    const output = source.query(new CopyOutReader(copyOutSql(plan), { onBytes: onProgress }));
    return withUserSearchPath(target, plan.runsUserCode === true, async () => {
      const input = target.query(new CopyInWriter(copyInSql(plan, destination)));
      await pipeline(output, input, signal ? { signal } : {});
      // The target's `COPY n`: the rows it took, counted by PostgreSQL rather than in this process.
      const rows = input.rowCount;
      return { rows, ...(await closeDestination(target, plan, rows)), bytes: output.bytes };
    });
  },
};
