import { access } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ConfigError } from '../errors.js';

/** The files looked for, in order, when neither -c nor PGCOPY_CONFIG names one. */
export const DEFAULT_CONFIG_FILES = Object.freeze(['pgcopy.yaml', 'pgcopy.yml', 'pgcopy.json']);

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** The config file a command reads, and whether it was found rather than named. */
export interface ConfigLocation {
  readonly path: string;
  /** Found in the working directory (not named by -c or PGCOPY_CONFIG): trusted only if safe. */
  readonly found: boolean;
}

/**
 * The config itself when `PGCOPY_CONFIG` holds it rather than a file's name: JSON or YAML text,
 * as the Lambda function reads the same variable, told from a path by a leading `{` or a line
 * break (an ECS task or a container gets its config this way, with no file to mount).
 */
export function inlineConfigText(
  env: Readonly<Record<string, string | undefined>>,
): string | undefined {
  const value = env['PGCOPY_CONFIG'];
  if (value === undefined) return undefined;
  return value.trimStart().startsWith('{') || value.includes('\n') ? value : undefined;
}

/**
 * The config file a command reads: `-c FILE` as given, else `PGCOPY_CONFIG`, else the first of
 * ./pgcopy.yaml, ./pgcopy.yml, ./pgcopy.json in `cwd`. None found is a usage error listing what was
 * tried, so the operator sees where pgcopy looked.
 */
export async function discoverConfigPath(
  explicit: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
): Promise<ConfigLocation> {
  if (explicit !== undefined) return { path: explicit, found: false };
  const fromEnv = env['PGCOPY_CONFIG'];
  if (fromEnv !== undefined && fromEnv !== '') return { path: resolve(cwd, fromEnv), found: false };
  const tried: string[] = ['-c/--config (not given)', 'PGCOPY_CONFIG (not set)'];
  for (const name of DEFAULT_CONFIG_FILES) {
    const path = resolve(cwd, name);
    if (await exists(path)) return { path, found: true };
    tried.push(path);
  }
  throw new ConfigError(`usage: no config file found; tried ${tried.join(', ')}`);
}
