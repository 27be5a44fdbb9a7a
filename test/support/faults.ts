import type { ServerInfo } from './server-info.js';
import { isCopyQuery, sql } from './db.js';

/**
 * Waits for pgcopy's COPY on `server` that names `marker` (a schema), then terminates that
 * backend, as a DBA or a failover would. Returns false when none started within `waitMs`;
 * `terminated` collects the pids, and those are not terminated twice.
 */
export async function terminateCopyBackend(
  server: ServerInfo,
  marker: string,
  waitMs = 20_000,
  terminated: Set<number> = new Set(),
): Promise<boolean> {
  const until = Date.now() + waitMs;
  while (Date.now() < until) {
    // A backend already terminated may still show its COPY for a moment: it is not a new one.
    const { rows } = await sql(
      server,
      `SELECT pid, pg_terminate_backend(pid) AS done FROM pg_stat_activity
        WHERE application_name = 'pgcopy' AND state = 'active' AND ${isCopyQuery()}
          AND query LIKE $1 AND NOT pid = ANY ($2::int[])`,
      [`%${marker}%`, [...terminated]],
    );
    for (const row of rows as { pid: number }[]) terminated.add(row.pid);
    if (rows.length > 0) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return false;
}

/**
 * pgcopy's sessions on `server` whose last statement named `marker`: none may outlive a run. A
 * backend whose client has just closed its connection leaves pg_stat_activity a moment later:
 * the count is read again for up to five seconds (a loaded machine) before it is taken as a leftover.
 */
export async function leftoverSessions(server: ServerInfo, marker: string): Promise<number> {
  for (const until = Date.now() + 5_000; ;) {
    const { rows } = await sql(
      server,
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE application_name = 'pgcopy' AND pid <> pg_backend_pid() AND query LIKE $1`,
      [`%${marker}%`],
    );
    const n = (rows[0] as { n: number }).n;
    if (n > 0 && Date.now() >= until) {
      // Said, so that a failure shows what was left.
      const left = await sql(
        server,
        `SELECT pid, state, backend_start, state_change, query FROM pg_stat_activity
          WHERE application_name = 'pgcopy' AND pid <> pg_backend_pid() AND query LIKE $1`,
        [`%${marker}%`],
      );
      process.stderr.write(`leftover pgcopy sessions: ${JSON.stringify(left.rows)}\n`);
    }
    if (n === 0 || Date.now() >= until) return n;
    await new Promise((r) => setTimeout(r, 50));
  }
}
