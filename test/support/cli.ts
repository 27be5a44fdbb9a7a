import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { stringify } from 'yaml';
import { runCli } from '../../src/cli/main.js';

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a pgcopy command in-process with captured output, as the bin shim would. */
export async function cli(
  argv: string[],
  options: {
    env?: Record<string, string | undefined>;
    signal?: AbortSignal;
    cwd?: string;
    tty?: boolean;
    columns?: number;
  } = {},
): Promise<CliResult> {
  const stdout = new PassThrough();
  const stderr = Object.assign(new PassThrough(), {
    isTTY: options.tty ?? false,
    ...(options.columns === undefined ? {} : { columns: options.columns }),
  });
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await runCli(argv, {
    stdout,
    stderr,
    env: options.env ?? {},
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.cwd ? { cwd: options.cwd } : {}),
  });
  return { code, stdout: out, stderr: err };
}

/** A temp working directory with a config file; removed by the returned cleanup. */
export async function workDir(
  config: unknown,
): Promise<{ dir: string; file: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'pgcopy-cli-'));
  const file = join(dir, 'pgcopy.yaml');
  await writeFile(file, typeof config === 'string' ? config : stringify(config));
  return { dir, file, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Runs `pgcopy COMMAND -c FILE` on a config written to a temp working directory, then removes it. */
export async function cliWithConfig(
  command: string,
  config: unknown,
  options: { env?: Record<string, string | undefined> } = {},
): Promise<CliResult> {
  const work = await workDir(config);
  try {
    return await cli([command, '-c', work.file], { ...options, cwd: work.dir });
  } finally {
    await work.cleanup();
  }
}
