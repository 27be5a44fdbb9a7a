import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../bin/pgcopy.js', import.meta.url));

export interface ChildPgcopy {
  readonly pid: number;
  stdout(): string;
  stderr(): string;
  /** Resolves once stderr holds the text. */
  waitForStderr(text: string): Promise<void>;
  /** The exit code, or null when it did not exit within `ms` (the child is then killed). */
  exitWithin(ms: number): Promise<number | null>;
  kill(signal: NodeJS.Signals): void;
}

/** Runs the real pgcopy bin in a child process, so that signals and process exit are the real ones. */
export function spawnPgcopy(
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
): ChildPgcopy {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...env },
  });
  let out = '';
  let err = '';
  const waiters: { text: string; resolve: () => void }[] = [];
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
    for (const w of waiters.filter((w) => err.includes(w.text))) w.resolve();
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  return {
    pid: child.pid ?? 0,
    stdout: () => out,
    stderr: () => err,
    waitForStderr: (text) =>
      err.includes(text)
        ? Promise.resolve()
        : new Promise((resolve) => waiters.push({ text, resolve })),
    exitWithin: async (ms) => {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>(
        (resolve) => (timer = setTimeout(() => resolve('late'), ms)),
      );
      const outcome = await Promise.race([exited, late]);
      clearTimeout(timer);
      if (outcome !== 'late') return outcome;
      child.kill('SIGKILL');
      await exited;
      return null;
    },
    kill: (signal) => child.kill(signal),
  };
}
