import { readOperatorFile } from '../operator-files.js';
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
        `${fileName}: invalid YAML${where}: ${(error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')}`,
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
  const text = await readOperatorFile('--config', file);
  return parseConfig(text, env, file);
}
