import { loadConfig } from '../config/load.js';
import type { Config } from '../config/types.js';
import type { CliIo } from './io.js';

/** Loads the command's config and prints its warnings (e.g. a TLS setting given twice) on stderr. */
export async function loadCommandConfig(path: string, io: CliIo): Promise<Config> {
  const config = await loadConfig(path, io.env);
  for (const warning of config.warnings ?? []) io.stderr.write(`pgcopy: warning: ${warning}\n`);
  return config;
}
