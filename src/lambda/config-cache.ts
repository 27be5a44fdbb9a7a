import { isAbsolute, resolve } from 'node:path';
import { parseConfig } from '../config/load.js';
import { parseYaml } from '../config/parse-yaml.js';
import type { Config, Mode } from '../config/types.js';
import {
  checkEventConfig,
  checkEventConfigAllowed,
  checkEventMode,
  eventPolicyFrom,
  refuseEnvironmentReferences,
  type EventPolicy,
} from './event-policy.js';
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
 * Where an invocation's config comes from, first found wins: the event's `config` (only where the
 * deployment allows it: see event-policy.ts), then `PGCOPY_CONFIG` (YAML or JSON text), then
 * `PGCOPY_CONFIG_FILE` (a path in the bundle, relative to the function's root). Each is parsed and
 * validated once per container.
 */
export class ConfigCache {
  private readonly parsed = new Map<string, Config>();
  /** How many times a config was parsed (not found in the cache). */
  parses = 0;

  private readonly policy: EventPolicy;

  constructor(private readonly env: Env) {
    this.policy = eventPolicyFrom(env);
  }

  /** Whether `get(eventConfig)` took the event's config: untrusted, read with no environment. */
  fromEvent(eventConfig: unknown): boolean {
    return eventConfig !== undefined;
  }

  async get(eventConfig: unknown): Promise<Config> {
    if (eventConfig !== undefined) {
      checkEventConfigAllowed(this.policy);
      const text = typeof eventConfig === 'string' ? eventConfig : JSON.stringify(eventConfig);
      const config = this.parse('event.config', text, 'event.config', {});
      checkEventConfig(config, this.policy);
      return config;
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

  /** Checks an event's `mode` against what the deployment allows. */
  checkMode(config: Config, mode: Mode | undefined): void {
    checkEventMode(config, mode, this.policy);
  }

  /** `env` fills `${VAR}`; an event's config gets none (and is refused if it has one). */
  private parse(origin: string, text: string, fileName = origin, env?: Env): Config {
    const key = origin.startsWith('file:') ? origin : `${origin}\n${text}`;
    const cached = this.parsed.get(key);
    if (cached) return cached;
    let config: Config;
    try {
      if (env !== undefined) refuseEnvironmentReferences(parseYaml(text, fileName));
      config = parseConfig(text, env ?? this.env, fileName);
    } catch (error) {
      throw withOrigin(fileName, error);
    }
    this.parses += 1;
    if (this.parsed.size >= KEPT) this.parsed.delete(this.parsed.keys().next().value as string);
    this.parsed.set(key, config);
    return config;
  }
}
