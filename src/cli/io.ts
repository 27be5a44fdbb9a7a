import type { Writable } from 'node:stream';
import type { Trace } from '../db/trace.js';

/** What a command may touch: its streams, the environment and an abort signal. Tests pass their own. */
export interface CliIo {
  readonly stdout: Writable & { isTTY?: boolean };
  readonly stderr: Writable & { isTTY?: boolean; columns?: number };
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly signal?: AbortSignal;
  readonly cwd?: string;
  /** Whether the locale's character set is UTF-8 (the process entry asks libc's variables); false prints ASCII markers. */
  readonly utf8?: boolean;
  /** `--ascii`: ASCII markers everywhere, the audit log's included. */
  readonly ascii?: boolean;
  /** `--verbose` / `--debug`: where the steps and the statements sent go. */
  readonly trace?: Trace;
}

export type Command = (args: string[], io: CliIo) => Promise<number>;

export const EXIT = Object.freeze({
  OK: 0,
  FAILED: 1,
  USAGE: 2,
  INTERRUPTED: 130,
});
