import { withUserSearchPath } from '../../db/search-path.js';
import { pairName } from '../../plan/types.js';
import { closeDestination } from '../destination.js';
import { columnDefinitions, insertSelectSql } from '../sql.js';
import {
  createForeignTable,
  dropForeignServer,
  extensionSchema,
  serverLinkOf,
} from './server-link.js';
import type { CopyStrategy, LoadContext, Loaded } from './types.js';

/** Rows per round trip postgres_fdw fetches (its default of 100 is slow for bulk reads). */
export const FDW_FETCH_SIZE = 10_000;

/**
 * Pulls on the target through postgres_fdw: a foreign server, user mapping and foreign table (in
 * pg_temp, with the target's column types) made and dropped inside the table's transaction, then
 * `INSERT ... SELECT`. postgres_fdw opens its own remote transaction: the table is read at its own
 * instant, not in the run's snapshot (the plan says so).
 */
export const fdwStrategy: CopyStrategy = {
  writesOnSource: false,
  async load({ plan, destination, target, sourceSpec }: LoadContext): Promise<Loaded> {
    await extensionSchema(target, 'postgres_fdw', pairName(plan));
    const { server, foreign } = await createForeignTable(
      target,
      await serverLinkOf(sourceSpec),
      { fetch_size: String(FDW_FETCH_SIZE) },
      {
        columns: columnDefinitions(plan, 'target', true),
        remoteSchema: plan.sourceSchema,
        remoteTable: plan.sourceTable,
      },
    );
    const loaded = await withUserSearchPath(target, plan.runsUserCode === true, async () => {
      const inserted = await target.query(insertSelectSql(plan, destination, foreign));
      const count = inserted.rowCount ?? 0;
      return { rows: count, ...(await closeDestination(target, plan, count)), bytes: 0 };
    });
    await dropForeignServer(target, server);
    return loaded;
  },
};
