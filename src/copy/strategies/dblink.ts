import { quoteIdent, quoteLiteral } from '../../db/quote.js';
import { PGCOPY_SEARCH_PATH, withUserSearchPath } from '../../db/search-path.js';
import { pairName } from '../../plan/types.js';
import { closeDestination } from '../destination.js';
import {
  SESSION_SETTINGS_SQL,
  columnDefinitions,
  insertSelectSql,
  selectSourceSql,
} from '../sql.js';
import {
  STAGED_SECRET,
  conninfo,
  extensionSchema,
  serverLinkOf,
  stageSecret,
} from './server-link.js';
import type { CopyStrategy, LoadContext, Loaded } from './types.js';

/**
 * Pulls on the target: `INSERT ... SELECT ... FROM dblink(conninfo, query)` in the table's
 * transaction. The remote session joins the run's snapshot before it reads, so the table is read
 * at the same instant as every other one. dblink's one-call form opens the connection for that call
 * only: nothing outlives the statement. The connection string (with its password) is staged as
 * COPY data and read by the statement, so no statement log can record it.
 */
export const dblinkStrategy: CopyStrategy = {
  writesOnSource: false,
  async load({ plan, destination, target, sourceSpec, snapshotId }: LoadContext): Promise<Loaded> {
    const dblink = await extensionSchema(target, 'dblink', pairName(plan));
    const remote = [
      'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
      `SET TRANSACTION SNAPSHOT ${quoteLiteral(snapshotId)}`,
      SESSION_SETTINGS_SQL,
      `SET search_path = ${PGCOPY_SEARCH_PATH}`,
      selectSourceSql(plan),
    ].join('; ');
    await stageSecret(target, conninfo(await serverLinkOf(sourceSpec)));
    const rows = `${quoteIdent(dblink)}.dblink(${STAGED_SECRET}, $1) AS r(${columnDefinitions(plan, 'target')})`;
    return withUserSearchPath(target, plan.runsUserCode === true, async () => {
      const inserted = await target.query(insertSelectSql(plan, destination, rows), [remote]);
      const count = inserted.rowCount ?? 0;
      return { rows: count, ...(await closeDestination(target, plan, count)), bytes: 0 };
    });
  },
};
