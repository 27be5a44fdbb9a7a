/* eslint-disable security/detect-non-literal-fs-filename -- the one module that opens paths the
   operator named (config file, key files, CA bundles, report and log paths); never a remote input. */
import {
  createWriteStream,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  type WriteStream,
} from 'node:fs';
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { ConfigError } from './errors.js';

function reason(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? 'unknown error';
}

/** Reads a file named in the config or on the command line; `key` names where it was given. */
export async function readOperatorFile(key: string, path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`${key}: cannot read ${path} (${reason(error)})`, { cause: error });
  }
}

/** A file's text and its mode, both from the one open file (not a stat of the path, then a read). */
async function readWithMode(path: string): Promise<{ text: string; mode: number }> {
  const file = await open(path, 'r');
  try {
    const mode = (await file.stat()).mode;
    return { text: await file.readFile('utf8'), mode };
  } finally {
    await file.close();
  }
}

/**
 * One of libpq's files (the password file, pg_service.conf) with its mode, or undefined when there
 * is none: like libpq, a missing file is no error. `key` names the file in the error.
 */
export async function readLibpqFile(
  key: string,
  path: string,
): Promise<{ text: string; mode: number } | undefined> {
  try {
    return await readWithMode(path);
  } catch (error) {
    if (reason(error) === 'ENOENT') return undefined;
    throw new ConfigError(`${key}: cannot read ${path} (${reason(error)})`, { cause: error });
  }
}

/**
 * Reads a private key file, refusing one that group or others may read, as OpenSSH does ("UNPROTECTED
 * PRIVATE KEY FILE"): the mode is read from the open file, so it is the file that is read.
 */
export async function readPrivateKeyFile(key: string, path: string): Promise<string> {
  let text: string;
  let mode: number;
  try {
    ({ text, mode } = await readWithMode(path));
  } catch (error) {
    throw new ConfigError(`${key}: cannot read ${path} (${reason(error)})`, { cause: error });
  }
  if ((mode & 0o077) !== 0) {
    throw new ConfigError(
      `${key}: ${path} is readable by others than its owner (mode ${(mode & 0o777).toString(8).padStart(4, '0')}); ` +
        `run chmod 600 ${path} (OpenSSH refuses such keys too)`,
    );
  }
  return text;
}

export function readOperatorFileSync(key: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`${key}: cannot read ${path} (${reason(error)})`, { cause: error });
  }
}

/**
 * Opens (and truncates) a file the run will write at its end, so that a path that cannot be
 * written is a configuration error before any data moves.
 */
export async function openOutputFile(key: string, path: string): Promise<FileHandle> {
  try {
    return await open(path, 'w', 0o640);
  } catch (error) {
    throw new ConfigError(`${key}: cannot write ${path} (${reason(error)})`, { cause: error });
  }
}

/** Creates a file that must not exist yet (a config `pgcopy init` writes never replaces one). */
export async function createNewFile(key: string, path: string): Promise<FileHandle> {
  try {
    return await open(path, 'wx', 0o640);
  } catch (error) {
    const why = reason(error) === 'EEXIST' ? 'it already exists' : reason(error);
    throw new ConfigError(`${key}: cannot write ${path} (${why})`, { cause: error });
  }
}

/**
 * `mkdir -p`, one level at a time. Node's `mkdir(..., { recursive: true })` never returns for some
 * paths (`/proc/x` loops at 100% CPU), and it would not say which level failed.
 */
function makeDirectory(key: string, dir: string): void {
  const parent = dirname(dir);
  if (parent !== dir) makeDirectory(key, parent);
  try {
    mkdirSync(dir, { mode: 0o750 });
    return;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new ConfigError(`${key}: cannot create ${dir} (${reason(error)})`, { cause: error });
    }
  }
  if (!statSync(dir).isDirectory()) throw new ConfigError(`${key}: ${dir} is not a directory`);
}

/**
 * Creates a new log file, and its directory; any failure names `key`. When the file exists
 * already: undefined if `mayExist` (the caller picks another name), else an error.
 */
export function openLogFile(
  key: string,
  dir: string,
  path: string,
  mayExist = false,
): WriteStream | undefined {
  makeDirectory(key, resolve(dir));
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o640);
  } catch (error) {
    if (mayExist && (error as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw new ConfigError(`${key}: cannot write ${path} (${reason(error)})`, { cause: error });
  }
  return createWriteStream(path, { fd });
}
