import { untrustedBecause } from '../file-trust.js';
import { readOperatorFileWithStats } from '../operator-files.js';
import type { ConfigLocation } from './discover.js';
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

/**
 * Reads and validates a config file. A file pgcopy found by itself that another user owns, or that
 * group or others may write, is refused (as OpenSSH refuses such files): whoever could write it
 * would choose where the passwords go. A file named by -c or PGCOPY_CONFIG is read, with a warning.
 */
export async function loadConfig(
  location: ConfigLocation | string,
  env: Readonly<Record<string, string | undefined>> = process.env,
  warn: (message: string) => void = () => undefined,
): Promise<Config> {
  const { path, found } =
    typeof location === 'string' ? { path: location, found: false } : location;
  const { text, stats } = await readOperatorFileWithStats('--config', path);
  const untrusted = untrustedBecause(stats, process.getuid?.());
  if (untrusted !== undefined && found) {
    throw new ConfigError(
      `--config: ${path} was found in the working directory, but ${untrusted}; ` +
        'pgcopy reads such a file only when named with -c',
    );
  }
  if (untrusted !== undefined) warn(`${path}: ${untrusted}`);
  return parseConfig(text, env, path);
}
