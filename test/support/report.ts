import type { RunReport, TableResult } from '../../src/report/events.js';

/** The result of one table in a run's report; fails the test when the table is not there. */
export function result(report: RunReport | undefined, table: string): TableResult {
  const found = report?.tables.find((t) => t.table === table);
  if (!found) throw new Error(`no result for ${table}`);
  return found;
}
