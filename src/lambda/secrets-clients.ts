import {
  SecretsManagerClient,
  type SecretsManagerClientConfig,
} from '@aws-sdk/client-secrets-manager';
import type { SecretsConfig } from '../config/types.js';
import { createSecretsProvider } from '../secrets/create-provider.js';
import type { SecretsProvider } from '../secrets/provider.js';

export type CreateSecretsClient = (config: SecretsManagerClientConfig) => SecretsManagerClient;

/**
 * Secrets providers (and their SDK clients) for the container's life, one per distinct `secrets`
 * section: a warm invocation reuses the client's connections and credentials, and the provider's
 * memory of a denied BatchGetSecretValue.
 */
export class SecretsProviders {
  private readonly providers = new Map<string, SecretsProvider>();
  /** How many SDK clients were created. */
  clients = 0;

  constructor(
    private readonly env: Readonly<Record<string, string | undefined>>,
    private readonly createClient: CreateSecretsClient = (config) =>
      new SecretsManagerClient(config),
  ) {}

  for(secrets: SecretsConfig | undefined): SecretsProvider | undefined {
    if (secrets === undefined) return undefined;
    const key = JSON.stringify(secrets);
    let provider = this.providers.get(key);
    if (!provider) {
      const client =
        secrets.provider === 'aws'
          ? this.newClient({
              ...(secrets.region !== undefined ? { region: secrets.region } : {}),
              ...(secrets.endpoint !== undefined ? { endpoint: secrets.endpoint } : {}),
            })
          : undefined;
      provider = createSecretsProvider(secrets, { env: this.env, ...(client ? { client } : {}) });
      this.providers.set(key, provider);
    }
    return provider;
  }

  private newClient(config: SecretsManagerClientConfig): SecretsManagerClient {
    this.clients += 1;
    return this.createClient(config);
  }
}
