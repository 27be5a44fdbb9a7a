import { discoverConfigPath, inlineConfigText } from '../config/discover.js';
import { loadConfig, parseConfig } from '../config/load.js';
import type { Config } from '../config/types.js';
import { ConfigError } from '../errors.js';
import type { CliIo } from './io.js';
import { printable } from '../report/printable.js';

const ORIGIN = 'PGCOPY_CONFIG';

/** The config that `PGCOPY_CONFIG` holds as text, its errors prefixed with the variable's name. */
function parseInlineConfig(text: string, io: CliIo): Config {
  try {
    return parseConfig(text, io.env, ORIGIN);
  } catch (error) {
    if (!(error instanceof ConfigError) || error.message.startsWith(ORIGIN)) throw error;
    const problems = error.problems.map((problem) => `${ORIGIN}: ${problem}`);
    throw new ConfigError(problems.join('\n'), { cause: error.cause, problems });
  }
}

/**
 * Loads the command's config (`-c FILE`, else the text PGCOPY_CONFIG holds, else discovered:
 * the file PGCOPY_CONFIG names, ./pgcopy.yaml…) and prints its warnings (e.g. a TLS setting
 * given twice) on stderr.
 */
export async function loadCommandConfig(path: string | undefined, io: CliIo): Promise<Config> {
  const warn = (warning: string): void => void io.stderr.write(`pgcopy: warning: ${warning}\n`);
  const inline = path === undefined ? inlineConfigText(io.env) : undefined;
  if (inline !== undefined) {
    const config = parseInlineConfig(inline, io);
    for (const warning of config.warnings ?? []) warn(warning);
    return config;
  }
  const location = await discoverConfigPath(path, io.env, io.cwd ?? process.cwd());
  // A file the operator did not name is said, so that nobody runs a stranger's config unawares.
  if (location.found) io.stderr.write(`pgcopy: config: ${printable(location.path)}\n`);
  const config = await loadConfig(location, io.env, warn);
  for (const warning of config.warnings ?? []) warn(warning);
  return config;
}
