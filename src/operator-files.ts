/* eslint-disable security/detect-non-literal-fs-filename -- the one module that opens paths the
   operator named (config file, key files, CA bundles, report and log paths); never a remote input. */
import {
  closeSync,
  constants,
  createWriteStream,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readSync,
  statSync,
  type Stats,
  type WriteStream,
} from 'node:fs';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ConfigError } from './errors.js';

function reason(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? 'unknown error';
}

/**
 * The most pgcopy reads of any one file (config, password, service, key, CA and secrets files): a
 * device such as /dev/zero must not grow the process without end.
 */
export const MAX_OPERATOR_FILE_BYTES = 16 * 1024 * 1024;

/**
 * O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, for good, in a thread
 * (or, for a synchronous read, on the main thread, where no signal handler runs any more). It has
 * no effect on reads of a regular file, the only kind read past the open.
 */
const OPEN_FOR_READING = constants.O_RDONLY | constants.O_NONBLOCK;

/** What kind of file `stats` is, for a message. */
function kindOf(stats: Stats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device';
  if (stats.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** Refuses, before any byte is read, a file that is not a regular file or that is too large. */
function checkReadable(stats: Stats): string | undefined {
  if (!stats.isFile()) return `it is ${kindOf(stats)}, not a regular file`;
  if (stats.size > MAX_OPERATOR_FILE_BYTES) {
    return `it is ${stats.size} bytes, more than the ${MAX_OPERATOR_FILE_BYTES} pgcopy reads`;
  }
  return undefined;
}

class UnreadableFile extends Error {}

/** Reads at most the limit (plus one byte, to notice a file that grew since its stat). */
function boundedText(chunks: Buffer[], total: number): string {
  if (total > MAX_OPERATOR_FILE_BYTES) {
    throw new UnreadableFile(`it is more than the ${MAX_OPERATOR_FILE_BYTES} bytes pgcopy reads`);
  }
  return Buffer.concat(chunks, total).toString('utf8');
}

/** A regular file's text and its stats, both from the one open file (never a stat, then a read). */
async function readRegularFile(
  path: string,
): Promise<{ text: string; mode: number; stats: Stats }> {
  const file = await open(path, OPEN_FOR_READING);
  try {
    const stats = await file.stat();
    const refused = checkReadable(stats);
    if (refused !== undefined) throw new UnreadableFile(refused);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const { bytesRead, buffer } = await file.read(Buffer.alloc(64 * 1024), 0, 64 * 1024, null);
      if (bytesRead === 0) break;
      chunks.push(buffer.subarray(0, bytesRead));
      total += bytesRead;
      if (total > MAX_OPERATOR_FILE_BYTES) break;
    }
    return { text: boundedText(chunks, total), mode: stats.mode, stats };
  } finally {
    await file.close();
  }
}

/** The synchronous twin of readRegularFile, for the few reads made while a connection is set up. */
function readRegularFileSync(path: string): { text: string; mode: number } {
  const fd = openSync(path, OPEN_FOR_READING);
  try {
    const stats = fstatSync(fd);
    const refused = checkReadable(stats);
    if (refused !== undefined) throw new UnreadableFile(refused);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buffer = Buffer.alloc(64 * 1024);
      const bytesRead = readSync(fd, buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      chunks.push(buffer.subarray(0, bytesRead));
      total += bytesRead;
      if (total > MAX_OPERATOR_FILE_BYTES) break;
    }
    return { text: boundedText(chunks, total), mode: stats.mode };
  } finally {
    closeSync(fd);
  }
}

/** `key: cannot read path (why)`: the errno code, or why the file was refused. */
function unreadable(key: string, path: string, error: unknown): ConfigError {
  const why = error instanceof UnreadableFile ? error.message : reason(error);
  return new ConfigError(`${key}: cannot read ${path} (${why})`, { cause: error });
}

/** Reads a file named in the config or on the command line; `key` names where it was given. */
export async function readOperatorFile(key: string, path: string): Promise<string> {
  return (await readOperatorFileWithStats(key, path)).text;
}

/** readOperatorFile, with the stats of the file read (its owner and mode, for a trust check). */
export async function readOperatorFileWithStats(
  key: string,
  path: string,
): Promise<{ text: string; stats: Stats }> {
  try {
    return await readRegularFile(path);
  } catch (error) {
    throw unreadable(key, path, error);
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
    return await readRegularFile(path);
  } catch (error) {
    if (reason(error) === 'ENOENT') return undefined;
    throw unreadable(key, path, error);
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
    ({ text, mode } = await readRegularFile(path));
  } catch (error) {
    throw unreadable(key, path, error);
  }
  refuseUnprotectedKey(key, path, mode);
  return text;
}

function refuseUnprotectedKey(key: string, path: string, mode: number): void {
  if ((mode & 0o077) !== 0) {
    throw new ConfigError(
      `${key}: ${path} is readable by others than its owner (mode ${(mode & 0o777).toString(8).padStart(4, '0')}); ` +
        `run chmod 600 ${path} (${key.endsWith('.sslkey') ? 'libpq' : 'OpenSSH'} refuses such keys too)`,
    );
  }
}

/** readPrivateKeyFile, for a key read while a connection is set up (a TLS client key). */
export function readPrivateKeyFileSync(key: string, path: string): string {
  let read: { text: string; mode: number };
  try {
    read = readRegularFileSync(path);
  } catch (error) {
    throw unreadable(key, path, error);
  }
  refuseUnprotectedKey(key, path, read.mode);
  return read.text;
}

export function readOperatorFileSync(key: string, path: string): string {
  try {
    return readRegularFileSync(path).text;
  } catch (error) {
    throw unreadable(key, path, error);
  }
}

/** A file written whole at the end of a run, replacing whatever regular file had its name. */
export interface ReplacementFile {
  readonly path: string;
  /** Writes `text` to a new file, then renames it to `path`: readers see the old file or the new. */
  commit(text: string): Promise<void>;
  /** Removes the unwritten new file (after commit: nothing to do). */
  discard(): Promise<void>;
}

/** How `path` stands now: undefined when nothing has that name. */
function lstatOrNothing(key: string, path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (error) {
    if (reason(error) === 'ENOENT') return undefined;
    throw new ConfigError(`${key}: cannot write ${path} (${reason(error)})`, { cause: error });
  }
}

/**
 * Opens a file the run will write at its end, so that a path that cannot be written is a
 * configuration error before any data moves. The file is written as the audit log is: a new file
 * of pgcopy's own mode (0640), never through a symbolic link (refused) and never into another
 * file, so that it keeps no mode or owner of a file that had its name. It is created beside `path`
 * and renamed over it when written.
 */
export async function openReplacementFile(key: string, path: string): Promise<ReplacementFile> {
  const existing = lstatOrNothing(key, path);
  if (existing?.isSymbolicLink()) {
    throw new ConfigError(
      `${key}: ${path} is a symbolic link; pgcopy never writes through one (name the file itself)`,
    );
  }
  if (existing && !existing.isFile()) {
    throw new ConfigError(`${key}: cannot write ${path} (it is ${kindOf(existing)})`);
  }
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}`);
  let handle: FileHandle;
  try {
    handle = await open(temporary, 'wx', 0o640);
  } catch (error) {
    throw new ConfigError(`${key}: cannot write ${path} (${reason(error)})`, { cause: error });
  }
  let isOpen = true;
  const close = async (): Promise<void> => {
    if (!isOpen) return;
    isOpen = false;
    await handle.close();
  };
  let written = false;
  return {
    path,
    async commit(text: string): Promise<void> {
      await handle.writeFile(text);
      await close();
      await rename(temporary, path);
      written = true;
    },
    async discard(): Promise<void> {
      await close();
      if (!written) await rm(temporary, { force: true });
    },
  };
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
