import type { Writable } from 'node:stream';

/** What a command may touch: its streams, the environment and an abort signal. Tests pass their own. */
export interface CliIo {
  readonly stdout: Writable & { isTTY?: boolean };
  readonly stderr: Writable & { isTTY?: boolean; columns?: number };
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly signal?: AbortSignal;
  readonly cwd?: string;
}

export type Command = (args: string[], io: CliIo) => Promise<number>;

export const EXIT = Object.freeze({
  OK: 0,
  FAILED: 1,
  USAGE: 2,
  INTERRUPTED: 130,
});
