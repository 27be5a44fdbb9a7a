import type { Config } from './config/types.js';
import type { ConnectorDeps } from './db/connector.js';
import { Connectors } from './db/connectors.js';
import type { SecretsProvider } from './secrets/provider.js';
import { resolveEndpoints } from './secrets/resolve-endpoints.js';
import { resolveMaskKey } from './masking/mask-key.js';
import type { OpenTunnel } from './tunnel/types.js';

/** Defaults: the provider named by config.secrets, and ssh2 tunnels. */
export interface SessionDeps extends ConnectorDeps {
  /** Overrides the provider built from config.secrets (tests, Lambda client reuse). */
  readonly secrets?: SecretsProvider | undefined;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly signal?: AbortSignal;
}

/**
 * ssh2 and the AWS SDK are loaded only by a config that uses them: every other run (and `--help`)
 * starts without their import cost.
 */
const openSshTunnel: OpenTunnel = async (...args) =>
  (await import('./tunnel/ssh-tunnel.js')).openSshTunnel(...args);

/** Resolves secrets and prepares one connector per endpoint; the caller closes them. */
export async function openConnectors(config: Config, deps: SessionDeps = {}): Promise<Connectors> {
  const owned =
    deps.secrets === undefined && config.secrets !== undefined
      ? (await import('./secrets/create-provider.js')).createSecretsProvider(
          config.secrets,
          deps.env ? { env: deps.env } : {},
        )
      : undefined;
  try {
    const secrets = deps.secrets ?? owned;
    const resolved = await resolveEndpoints(config, {
      secrets,
      env: deps.env,
      ...(deps.signal ? { signal: deps.signal } : {}),
    });
    // The source sessions carry the data rules' key (see masking/mask-key.ts).
    const maskKey = config.options.maskKey
      ? await resolveMaskKey(config.options.maskKey, {
          env: deps.env ?? process.env,
          secrets,
          secretsConfig: config.secrets,
          signal: deps.signal,
        })
      : undefined;
    const endpoints =
      maskKey === undefined ? resolved : { ...resolved, source: { ...resolved.source, maskKey } };
    return new Connectors(endpoints, { openTunnel: openSshTunnel, ...deps });
  } finally {
    owned?.close?.(); // destroys the SDK client it created
  }
}
