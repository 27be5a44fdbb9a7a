import { discoverConfigPath } from '../config/discover.js';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/types.js';
import type { CliIo } from './io.js';
import { printable } from '../report/printable.js';

/**
 * Loads the command's config (`-c FILE`, else discovered: PGCOPY_CONFIG, ./pgcopy.yaml…) and
 * prints its warnings (e.g. a TLS setting given twice) on stderr.
 */
export async function loadCommandConfig(path: string | undefined, io: CliIo): Promise<Config> {
  const location = await discoverConfigPath(path, io.env, io.cwd ?? process.cwd());
  const warn = (warning: string): void => void io.stderr.write(`pgcopy: warning: ${warning}\n`);
  // A file the operator did not name is said, so that nobody runs a stranger's config unawares.
  if (location.found) io.stderr.write(`pgcopy: config: ${printable(location.path)}\n`);
  const config = await loadConfig(location, io.env, warn);
  for (const warning of config.warnings ?? []) warn(warning);
  return config;
}
