import { readFile } from 'node:fs/promises';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { ConfigError } from '../errors.js';
import { interpolateEnv } from './interpolate.js';
import type { Config } from './types.js';
import { validateConfig } from './validate.js';

/** Parses YAML (JSON is valid YAML) text, interpolates the environment and validates. */
export function parseConfig(
  text: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
  fileName = 'config',
): Config {
  let raw: unknown;
  try {
    raw = parseYaml(text, { uniqueKeys: true });
  } catch (error) {
    if (error instanceof YAMLParseError) {
      const where = error.linePos?.[0]
        ? ` at line ${error.linePos[0].line}, column ${error.linePos[0].col}`
        : '';
      throw new ConfigError(
        `${fileName}: invalid YAML${where}: ${error.message.split('\n')[0] ?? ''}`,
      );
    }
    throw error;
  }
  if (raw === null || raw === undefined) throw new ConfigError(`${fileName}: the file is empty`);
  return validateConfig(interpolateEnv(raw, env));
}

/** Reads and validates a config file. */
export async function loadConfig(
  file: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<Config> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(`${file}: cannot read the config file (${code ?? 'unknown error'})`, {
      cause: error,
    });
  }
  return parseConfig(text, env, file);
}
