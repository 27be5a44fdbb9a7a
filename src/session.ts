import type { Config } from './config/types.js';
import type { ConnectorDeps } from './db/connector.js';
import { Connectors } from './db/connectors.js';
import { createSecretsProvider } from './secrets/create-provider.js';
import type { SecretsProvider } from './secrets/provider.js';
import { resolveEndpoints } from './secrets/resolve-endpoints.js';
import { openSshTunnel } from './tunnel/ssh-tunnel.js';

/** Defaults: the provider named by config.secrets, and ssh2 tunnels. */
export interface SessionDeps extends ConnectorDeps {
  /** Overrides the provider built from config.secrets (tests, Lambda client reuse). */
  readonly secrets?: SecretsProvider | undefined;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly signal?: AbortSignal;
}

/** Resolves secrets and prepares one connector per endpoint; the caller closes them. */
export async function openConnectors(config: Config, deps: SessionDeps = {}): Promise<Connectors> {
  const owned =
    deps.secrets === undefined && config.secrets !== undefined
      ? createSecretsProvider(config.secrets, deps.env ? { env: deps.env } : {})
      : undefined;
  try {
    const endpoints = await resolveEndpoints(config, {
      secrets: deps.secrets ?? owned,
      env: deps.env,
      ...(deps.signal ? { signal: deps.signal } : {}),
    });
    return new Connectors(endpoints, { openTunnel: openSshTunnel, ...deps });
  } finally {
    owned?.close?.(); // destroys the SDK client it created
  }
}
