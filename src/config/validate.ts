import { ConfigError } from '../errors.js';
import { problemsOf } from './issues.js';
import { resolveEndpoint, resolveTarget } from './resolve-endpoint.js';
import { configSchema, DEFAULT_OPTIONS } from './schema.js';
import type { Config } from './types.js';

export { DEFAULT_OPTIONS };

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/**
 * Validates the raw (already interpolated) configuration against the schema, reporting every
 * problem at once, into a frozen, fully resolved Config.
 */
export function validateConfig(raw: unknown): Config {
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) throw ConfigError.of(problemsOf(parsed.error.issues));
  const { secrets, options } = parsed.data;
  const source = resolveEndpoint('source', 'source', parsed.data.source);
  const targets = parsed.data.targets.map((t, i) => resolveTarget(`targets[${i}]`, t));
  const warnings = [source, ...targets].flatMap((r) => r.warnings);
  const config: { -readonly [K in keyof Config]: Config[K] } = {
    source: source.value,
    targets: targets.map((t) => t.value),
    options: options ?? DEFAULT_OPTIONS,
  };
  if (warnings.length > 0) config.warnings = warnings;
  if (secrets) config.secrets = secrets;
  return deepFreeze(config);
}
