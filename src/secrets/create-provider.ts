import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SecretsConfig } from '../config/types.js';
import { ConfigError } from '../errors.js';
import { AwsSecretsProvider } from './aws-provider.js';
import { EnvSecretsProvider } from './env-provider.js';
import { FileSecretsProvider, type ReadTextFile } from './file-provider.js';
import type { SecretsProvider } from './provider.js';

export interface CreateSecretsProviderDeps {
  /**
   * The Secrets Manager client to use (tests; the Lambda handler reusing one across invocations).
   * When absent, one is created from `region` and `endpoint` (else the SDK's own resolution:
   * AWS_REGION, AWS_ENDPOINT_URL_SECRETS_MANAGER, the default credential chain) and is destroyed
   * by the provider's close().
   */
  readonly client?: SecretsManagerClient;
  /** The environment of the `env` provider (default: process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Reads the `file` provider's file (default: fs.readFile, UTF-8). */
  readonly readFile?: ReadTextFile;
}

/** Builds the provider named by `secrets.provider`. Call `close?.()` on it when done. */
export function createSecretsProvider(
  config: SecretsConfig,
  deps: CreateSecretsProviderDeps = {},
): SecretsProvider {
  switch (config.provider) {
    case 'aws': {
      if (deps.client) return new AwsSecretsProvider(deps.client);
      const client = new SecretsManagerClient({
        ...(config.region !== undefined ? { region: config.region } : {}),
        ...(config.endpoint !== undefined ? { endpoint: config.endpoint } : {}),
      });
      return new AwsSecretsProvider(client, { ownsClient: true });
    }
    case 'file':
      if (config.file === undefined) {
        throw new ConfigError('secrets.file: is required when provider is "file"');
      }
      return new FileSecretsProvider(config.file, deps.readFile);
    case 'env':
      return new EnvSecretsProvider(deps.env ?? process.env);
  }
}
