import { readOperatorFile } from '../operator-files.js';
import { ConfigError } from '../errors.js';
import { interpolateEnv } from './interpolate.js';
import { parseYaml } from './parse-yaml.js';
import type { Config } from './types.js';
import { validateConfig } from './validate.js';

/** Parses YAML (JSON is valid YAML) text, interpolates the environment and validates. */
export function parseConfig(
  text: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
  fileName = 'config',
): Config {
  const raw = parseYaml(text, fileName);
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
