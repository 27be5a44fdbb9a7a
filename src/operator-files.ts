/* eslint-disable security/detect-non-literal-fs-filename -- the one module that opens paths the
   operator named (config file, key files, CA bundles, report and log paths); never a remote input. */
import { createWriteStream, mkdirSync, readFileSync, type WriteStream } from 'node:fs';
import { open, readFile, writeFile } from 'node:fs/promises';
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

/**
 * Reads a private key file, refusing one that group or others may read, as OpenSSH does ("UNPROTECTED
 * PRIVATE KEY FILE"): the mode is read from the open file, so it is the file that is read.
 */
export async function readPrivateKeyFile(key: string, path: string): Promise<string> {
  let text: string;
  let mode: number;
  try {
    const file = await open(path, 'r');
    try {
      mode = (await file.stat()).mode;
      text = await file.readFile('utf8');
    } finally {
      await file.close();
    }
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

export async function writeOperatorFile(path: string, text: string): Promise<void> {
  await writeFile(path, text, { mode: 0o640 });
}

/** Opens a log file for appending, creating its directory. */
export function openLogFile(dir: string, path: string): WriteStream {
  mkdirSync(dir, { recursive: true });
  return createWriteStream(path, { flags: 'a', mode: 0o640 });
}
