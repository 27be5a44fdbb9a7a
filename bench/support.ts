import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../bin/pgcopy.js', import.meta.url));
const preload = fileURLToPath(new URL('./max-rss.cjs', import.meta.url));

export interface ProcessRun {
  readonly code: number | null;
  readonly seconds: number;
  readonly maxRssMb: number;
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
      resolve({ code, seconds, maxRssMb: kb / 1024, stdout, stderr });
    });
  });
}

/** Runs a shell pipeline (the `psql | psql` baseline) and times it. */
export function timeShell(
  command: string,
  env: Record<string, string>,
): Promise<{ code: number | null; seconds: number; stderr: string }> {
  const started = process.hrtime.bigint();
  const child = spawn('bash', ['-o', 'pipefail', '-c', command], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => {
    child.once('exit', (code) =>
      resolve({ code, seconds: Number(process.hrtime.bigint() - started) / 1e9, stderr }),
    );
  });
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}
