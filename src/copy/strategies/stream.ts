import { pipeline } from 'node:stream/promises';
import { withUserSearchPath } from '../../db/search-path.js';
import { closeDestination } from '../destination.js';
import { afterBegin, copyInSql, copyOutSql } from '../sql.js';
import { CopyInWriter } from '../wire/copy-in-writer.js';
import { CopyOutReader } from '../wire/copy-out-reader.js';
import type { CopyStrategy, LoadContext, Loaded } from './types.js';

/**
 * COPY TO STDOUT on the source piped into COPY FROM STDIN on the target: each socket read of the
 * source goes to the target as one CopyData message (src/copy/wire); progress counts the payload
 * bytes. A failure anywhere destroys the COPY FROM stream (CopyFail), so nothing of the table is
 * kept. Given `begin`, a COPY's query string begins its side's transaction first: one wait fewer
 * per table on that side, where a network's round trip is the price of each.
 */
export const streamStrategy: CopyStrategy = {
  writesOnSource: false,
  async load({
    plan,
    destination,
    source,
    target,
    signal,
    begin,
    onProgress,
  }: LoadContext): Promise<Loaded> {
    // Both queries go at once: the target begins (and truncates) while the source starts reading.
    const output = source.query(
      new CopyOutReader(afterBegin(begin?.source, copyOutSql(plan)), { onBytes: onProgress }),
    );
    return withUserSearchPath(target, plan.runsUserCode === true, async () => {
      const input = target.query(
        new CopyInWriter(afterBegin(begin?.target, copyInSql(plan, destination))),
      );
      await pipeline(output, input, signal ? { signal } : {});
      // The target's `COPY n`: the rows it took, counted by PostgreSQL rather than in this process.
      const rows = input.rowCount;
      return { rows, ...(await closeDestination(target, plan, rows)), bytes: output.bytes };
    });
  },
};
