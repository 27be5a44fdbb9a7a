import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { connect, sql } from '../test/support/db.js';
import type { ServerInfo } from '../test/support/server-info.js';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../bin/pgcopy.js', import.meta.url));
const preload = fileURLToPath(new URL('./max-rss.cjs', import.meta.url));

export interface ProcessRun {
  readonly code: number | null;
  readonly seconds: number;
  readonly maxRssMb: number;
  /** User + system CPU seconds of the pgcopy process itself. */
  readonly cpuSeconds: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the built pgcopy CLI in its own process and measures wall time and peak RSS. */
export function runPgcopy(args: string[], cwd: string): Promise<ProcessRun> {
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, ['--require', preload, bin, ...args], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => {
    child.once('exit', (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const kb = Number(/PGCOPY_MAX_RSS_KB=(\d+)/.exec(stderr)?.[1] ?? 0);
      const cpuUs = Number(/PGCOPY_CPU_US=(\d+)/.exec(stderr)?.[1] ?? NaN);
      resolve({ code, seconds, maxRssMb: kb / 1024, cpuSeconds: cpuUs / 1e6, stdout, stderr });
    });
  });
}

export interface ShellRun {
  readonly code: number | null;
  readonly seconds: number;
  /** User + system CPU seconds of the processes the command ran (bash's `times`), NaN if it exited early. */
  readonly cpuSeconds: number;
  readonly stderr: string;
}

const TIMES_LINE = /(\d+)m([\d.]+)s (\d+)m([\d.]+)s\s*$/;

/** Seconds of the last line `times` printed (its children's user and system time). */
function childCpuSeconds(stderr: string): number {
  const m = TIMES_LINE.exec(stderr);
  if (!m) return NaN;
  const [, um, us, sm, ss] = m.map(Number) as [number, number, number, number, number];
  return um * 60 + us + sm * 60 + ss;
}

/** Runs a shell pipeline (the `psql | psql` baseline) and times it, wall and CPU. */
export function timeShell(command: string, env: Record<string, string>): Promise<ShellRun> {
  const started = process.hrtime.bigint();
  const timed = `${command}\nrc=$?; times >&2; exit $rc`;
  const child = spawn('bash', ['-o', 'pipefail', '-c', timed], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => {
    child.once('exit', (code) =>
      resolve({
        code,
        seconds: Number(process.hrtime.bigint() - started) / 1e9,
        cpuSeconds: childCpuSeconds(stderr),
        stderr,
      }),
    );
  });
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

/**
 * Row count and an order-independent digest of a query's rows, computed by PostgreSQL: the sum of
 * a 60-bit slice of each row's md5. Unlike tableDigest (one string of every row), it stays
 * within PostgreSQL's 1 GB value limit on tables of millions of rows and sorts nothing.
 */
export async function rowsDigest(
  server: ServerInfo,
  query: string,
): Promise<{ count: number; digest: string }> {
  const result = await sql(
    server,
    `SELECT count(*)::int AS count,
            coalesce(sum(('x' || substr(md5(r::text), 1, 15))::bit(60)::bigint::numeric), 0)::text AS digest
       FROM (${query}) r`,
  );
  return result.rows[0] as { count: number; digest: string };
}

/** The benchmarks' mixed-type table: eight columns of the kinds real tables hold. */
export const MIXED_COLUMNS = `id bigint, sensor int, observed_at timestamptz, reading float8, amount numeric(12,2), label text, flags bool, day date`;

/** A SELECT of `count` rows of the mixed table, ids 1 to `count`. */
export function mixedRowsSql(count: number): string {
  return `SELECT g, g % 1000, '2026-01-01'::timestamptz + g * interval '1 second', g / 7.0,
       (g % 100000) / 100.0, 'label ' || md5(g::text), g % 2 = 0, '2020-01-01'::date + g % 2000
       FROM generate_series(1, ${count}) g`;
}

/**
 * The source side of a one-table benchmark: schema `q` holding the mixed table with `rows` rows
 * (`columns`: the mixed columns and any constraint), frozen and analyzed before any round, so that
 * no round pays for hint bits or statistics.
 */
export async function createMixedSource(
  server: ServerInfo,
  q: string,
  rows: number,
  columns = MIXED_COLUMNS,
): Promise<void> {
  await sql(
    server,
    `CREATE SCHEMA ${q};
     CREATE TABLE ${q}.mixed (${columns});
     INSERT INTO ${q}.mixed ${mixedRowsSql(rows)};`,
  );
  await sql(server, `VACUUM (FREEZE, ANALYZE) ${q}.mixed`);
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** CPU seconds a server's processes have used so far, exited backends included. */
export function serverCpuSeconds(postmaster: number): Promise<number> {
  return Promise.resolve(serversCpuSeconds([postmaster])[0] ?? NaN);
}

/** The fields of /proc/PID/stat after the command name: state ppid ... (0-based from state). */
function statFields(pid: number | string): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/**
 * CPU seconds each server's processes have used so far (the postmaster's own and reaped children's
 * time, and its live children's), from one pass over /proc. Synchronous: on a loaded 2-core machine
 * a pass took 10-25 ms, where reading each file through the event loop took 40-320 ms, which
 * every measured run paid four times.
 */
export function serversCpuSeconds(postmasters: readonly number[]): number[] {
  // utime(11) stime(12) cutime(13) cstime(14), 0-based from the state field.
  const ownTicks = (): number[] =>
    postmasters.map((pid) => {
      const own = statFields(pid);
      return [11, 12, 13, 14].reduce((sum, i) => sum + Number(own[i]), 0);
    });
  for (;;) {
    const before = ownTicks();
    const children = postmasters.map(() => 0);
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const f = statFields(entry);
        const i = postmasters.indexOf(Number(f[1]));
        if (i >= 0) children[i] = (children[i] ?? 0) + Number(f[11]) + Number(f[12]);
      } catch {
        // The process ended while being read: its time moves into the postmaster's cutime.
      }
    }
    // A backend reaped while the children were read would be counted in neither (an exiting
    // backend's seconds lost): read again until no reaping came in between.
    const after = ownTicks();
    if (after.every((t, i) => t === before[i])) {
      return after.map((t, i) => (t + (children[i] ?? 0)) / CLOCK_TICKS);
    }
  }
}

export async function postmasterOf(server: ServerInfo): Promise<number> {
  const client = await connect(server);
  try {
    const { rows } = await client.query('SELECT pg_backend_pid() AS pid');
    const pid = (rows[0] as { pid: number }).pid;
    // Read while the backend lives: its parent is the postmaster.
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } finally {
    await client.end();
  }
}
