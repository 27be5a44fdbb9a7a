import { isAbsolute, resolve } from 'node:path';
import { parseConfig } from '../config/load.js';
import type { Config } from '../config/types.js';
import { ConfigError } from '../errors.js';
import { readOperatorFile } from '../operator-files.js';

type Env = Readonly<Record<string, string | undefined>>;

/** Parsed configs kept for the container's life; event configs vary, so only the last few stay. */
const KEPT = 8;

function withOrigin(origin: string, error: unknown): unknown {
  if (!(error instanceof ConfigError) || error.message.startsWith(origin)) return error;
  return new ConfigError(`${origin}: ${error.message}`, { cause: error.cause });
}

/**
 * Where an invocation's config comes from, first found wins: the event's `config`, then
 * `PGCOPY_CONFIG` (YAML or JSON text), then `PGCOPY_CONFIG_FILE` (a path in the bundle, relative
 * to the function's root). Each is parsed and validated once per container.
 */
export class ConfigCache {
  private readonly parsed = new Map<string, Config>();
  /** How many times a config was parsed (not found in the cache). */
  parses = 0;

  constructor(private readonly env: Env) {}

  async get(eventConfig: unknown): Promise<Config> {
    if (eventConfig !== undefined) {
      const text = typeof eventConfig === 'string' ? eventConfig : JSON.stringify(eventConfig);
      return this.parse('event.config', text);
    }
    const inline = this.env['PGCOPY_CONFIG'];
    if (inline !== undefined && inline !== '') return this.parse('PGCOPY_CONFIG', inline);
    const file = this.env['PGCOPY_CONFIG_FILE'];
    if (file !== undefined && file !== '') {
      const root = this.env['LAMBDA_TASK_ROOT'] ?? process.cwd();
      const path = isAbsolute(file) ? file : resolve(root, file);
      const key = `file:${path}`;
      return (
        this.parsed.get(key) ??
        this.parse(key, await readOperatorFile('PGCOPY_CONFIG_FILE', path), path)
      );
    }
    throw new ConfigError(
      'config: none given: set PGCOPY_CONFIG (YAML or JSON), PGCOPY_CONFIG_FILE (a file in the bundle), or the event\'s "config"',
    );
  }

  private parse(origin: string, text: string, fileName = origin): Config {
    const key = origin.startsWith('file:') ? origin : `${origin}\n${text}`;
    const cached = this.parsed.get(key);
    if (cached) return cached;
    let config: Config;
    try {
      config = parseConfig(text, this.env, fileName);
    } catch (error) {
      throw withOrigin(fileName, error);
    }
    this.parses += 1;
    if (this.parsed.size >= KEPT) this.parsed.delete(this.parsed.keys().next().value as string);
    this.parsed.set(key, config);
    return config;
  }
}
