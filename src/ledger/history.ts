import type pg from 'pg';
import { ledgerName } from './ledger-sql.js';

/** One run as a target's ledger recorded it. */
export interface RecordedRun {
  readonly target: string;
  readonly runId: string;
  /** The first and last commit of the run's tables there (ISO 8601). */
  readonly firstCommit: string;
  readonly lastCommit: string;
  readonly tables: number;
  readonly rows: number;
  readonly version: string;
}

/** The most recent runs of one target's ledger, newest first; none when it has no ledger. */
export async function recordedRuns(
  client: pg.ClientBase,
  target: string,
  options: { readonly schema: string; readonly limit: number },
): Promise<RecordedRun[] | undefined> {
  const name = ledgerName(options.schema);
  const found = await client.query<{ ok: boolean }>(
    `SELECT to_regclass($1) IS NOT NULL AND has_table_privilege($1, 'SELECT') AS ok`,
    [name],
  );
  if (found.rows[0]?.ok !== true) return undefined;
  const { rows } = await client.query<{
    run_id: string;
    first: Date;
    last: Date;
    tables: string;
    rows: string;
    version: string;
  }>(
    `SELECT run_id, min(committed_at) AS first, max(committed_at) AS last,
            count(*)::text AS tables, sum(rows)::text AS rows, max(pgcopy_version) AS version
       FROM ${name} GROUP BY run_id ORDER BY max(committed_at) DESC LIMIT $1`,
    [options.limit],
  );
  return rows.map((r) => ({
    target,
    runId: r.run_id,
    firstCommit: r.first.toISOString(),
    lastCommit: r.last.toISOString(),
    tables: Number(r.tables),
    rows: Number(r.rows),
    version: r.version,
  }));
}
