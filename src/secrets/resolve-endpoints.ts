import { readFile } from 'node:fs/promises';
import type { Config, EndpointConfig } from '../config/types.js';
import type { ConnectionSpec, ResolvedSsh } from '../db/connection-spec.js';
import { ConfigError } from '../errors.js';
import type { SecretsProvider } from './provider.js';

export interface ResolvedEndpoints {
  readonly source: ConnectionSpec;
  readonly targets: ReadonlyMap<string, ConnectionSpec>;
}

export interface ResolveDeps {
  /** Resolves `secret:` references; absent when the config has no `secrets` section. */
  readonly secrets?: SecretsProvider | undefined;
  readonly signal?: AbortSignal;
}

function configPath(config: Config, ep: EndpointConfig): string {
  const index = config.targets.findIndex((t) => t === ep);
  return index < 0 ? 'source' : `targets[${index}]`;
}

async function resolveSsh(path: string, ep: EndpointConfig): Promise<ResolvedSsh | undefined> {
  if (!ep.ssh) return undefined;
  if (ep.ssh.keyFile === undefined) {
    throw new ConfigError(`${path}.ssh: needs keyFile (or a secret whose ssh field holds the key)`);
  }
  try {
    return { ...ep.ssh, privateKey: await readFile(ep.ssh.keyFile, 'utf8') };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new ConfigError(`${path}.ssh.keyFile: cannot read ${ep.ssh.keyFile} (${code})`, {
      cause: error,
    });
  }
}

/** Builds a ConnectionSpec from the endpoint's own fields (no secret involved). */
export async function specFromConfig(path: string, ep: EndpointConfig): Promise<ConnectionSpec> {
  const missing = (key: string): never => {
    throw new ConfigError(`${path}.${key}: is required (give it, a url, or a secret)`);
  };
  const ssh = await resolveSsh(path, ep);
  return {
    name: ep.name,
    host: ep.host ?? missing('host'),
    port: ep.port ?? 5432,
    database: ep.database ?? missing('database'),
    user: ep.user ?? missing('user'),
    ...(ep.password !== undefined ? { password: ep.password } : {}),
    sslmode: ep.sslmode ?? 'prefer',
    ...(ep.sslrootcert !== undefined ? { sslrootcert: ep.sslrootcert } : {}),
    ...(ssh ? { ssh } : {}),
  };
}

/** Resolves every endpoint of the config into connection specs, fetching secrets where referenced. */
export async function resolveEndpoints(
  config: Config,
  deps: ResolveDeps = {},
): Promise<ResolvedEndpoints> {
  const endpoints: EndpointConfig[] = [config.source, ...config.targets];
  for (const ep of endpoints) {
    if ((ep.secret !== undefined || ep.secretId !== undefined) && !deps.secrets) {
      throw new ConfigError(
        `${configPath(config, ep)}.secret: no secrets provider configured (add a secrets section)`,
      );
    }
  }
  const source = await specFromConfig('source', config.source);
  const targets = new Map<string, ConnectionSpec>();
  for (const [i, t] of config.targets.entries())
    targets.set(t.name, await specFromConfig(`targets[${i}]`, t));
  return { source, targets };
}
