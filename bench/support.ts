import { spawn } from 'node:child_process';
import { sql } from '../test/support/db.js';
import type { ServerInfo } from '../test/support/server-info.js';
import { fileURLToPath } from 'node:url';
import { readFile, readdir } from 'node:fs/promises';

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

/** utime, stime, cutime, cstime of /proc/PID/stat, in clock ticks (fields 14-17; the name may hold spaces). */
async function procTimes(pid: number): Promise<{ own: number; children: number; ppid: number }> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat
    .slice(stat.lastIndexOf(')') + 2)
    .split(' ')
    .map(Number);
  // fields[0] is field 3 (state): field n is fields[n - 3].
  const at = (n: number): number => fields[n - 3] ?? 0;
  return { own: at(14) + at(15), children: at(16) + at(17), ppid: at(4) };
}

/** Linux's USER_HZ: /proc times are in hundredths of a second. */
const TICKS_PER_SECOND = 100;

/**
 * CPU seconds a PostgreSQL server has used so far, all its processes together: the postmaster's
 * own and its reaped children's (every backend that has ended), plus each live child's. The
 * difference over a run is the server's work for it, whatever else loads the machine. Needs the
 * server on this machine and /proc (Linux); NaN otherwise.
 */
export async function serverCpuSeconds(server: ServerInfo): Promise<number> {
  try {
    // The first line of postmaster.pid, in the data directory, is the postmaster's pid.
    const { rows } = await sql(server, `SELECT current_setting('data_directory') AS dir`);
    const dir = (rows[0] as { dir: string }).dir;
    const postmaster = Number((await readFile(`${dir}/postmaster.pid`, 'utf8')).split('\n')[0]);
    const top = await procTimes(postmaster);
    let ticks = top.own + top.children;
    for (const entry of await readdir('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const child = await procTimes(Number(entry)).catch(() => undefined);
      if (child?.ppid === postmaster) ticks += child.own;
    }
    return ticks / TICKS_PER_SECOND;
  } catch {
    return NaN;
  }
}
