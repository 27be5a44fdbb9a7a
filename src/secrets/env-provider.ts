import type { SecretsProvider } from './provider.js';

export const ENV_PREFIX = 'PGCOPY_SECRET_';

/**
 * The variable holding a secret: `PGCOPY_SECRET_` then the id upper-cased, every character other
 * than a letter or digit replaced by `_` (`pgcopy/prod/source` -> `PGCOPY_SECRET_PGCOPY_PROD_SOURCE`).
 */
export function envVariableFor(id: string): string {
  return ENV_PREFIX + id.replace(/[^A-Za-z0-9]/g, '_').toUpperCase();
}

/** Secrets from `PGCOPY_SECRET_<NAME>` environment variables holding the secret's JSON. */
export class EnvSecretsProvider implements SecretsProvider {
  constructor(private readonly env: Readonly<Record<string, string | undefined>>) {}

  fetch(
    ids: readonly string[],
    options: { signal?: AbortSignal } = {},
  ): Promise<Map<string, string>> {
    if (options.signal?.aborted) return Promise.reject(options.signal.reason as Error);
    const found = new Map<string, string>();
    for (const id of ids) {
      const value = this.env[envVariableFor(id)];
      if (value !== undefined && value !== '') found.set(id, value);
    }
    return Promise.resolve(found);
  }
}
