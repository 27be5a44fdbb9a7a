import { discoverConfigPath } from '../config/discover.js';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/types.js';
import type { CliIo } from './io.js';

/**
 * Loads the command's config (`-c FILE`, else discovered: PGCOPY_CONFIG, ./pgcopy.yaml…) and
 * prints its warnings (e.g. a TLS setting given twice) on stderr.
 */
export async function loadCommandConfig(path: string | undefined, io: CliIo): Promise<Config> {
  const file = await discoverConfigPath(path, io.env, io.cwd ?? process.cwd());
  const config = await loadConfig(file, io.env);
  for (const warning of config.warnings ?? []) io.stderr.write(`pgcopy: warning: ${warning}\n`);
  return config;
}
