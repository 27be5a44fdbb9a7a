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

/** Where the SDK will send its requests, for messages: the same order of precedence as the SDK. */
function endpointLabel(
  config: SecretsConfig,
  env: Readonly<Record<string, string | undefined>>,
): string {
  const url = config.endpoint ?? env['AWS_ENDPOINT_URL_SECRETS_MANAGER'] ?? env['AWS_ENDPOINT_URL'];
  if (url !== undefined) return url;
  const region = config.region ?? env['AWS_REGION'] ?? env['AWS_DEFAULT_REGION'];
  return region !== undefined ? `secretsmanager.${region}.amazonaws.com` : 'Secrets Manager';
}

/**
 * The SDK prints a nine-line notice about Node 20's end of support on every run: it is addressed to
 * whoever maintains pgcopy's Node version, not to its operators. An explicit setting is kept.
 */
function silenceNodeVersionWarning(): void {
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
}

/** Builds the provider named by `secrets.provider`. Call `close?.()` on it when done. */
export function createSecretsProvider(
  config: SecretsConfig,
  deps: CreateSecretsProviderDeps = {},
): SecretsProvider {
  switch (config.provider) {
    case 'aws': {
      const env = deps.env ?? process.env;
      const options = {
        endpoint: endpointLabel(config, env),
        ...(config.timeoutMs !== undefined ? { timeoutMs: config.timeoutMs } : {}),
      };
      if (deps.client) return new AwsSecretsProvider(deps.client, options);
      silenceNodeVersionWarning();
      const client = new SecretsManagerClient({
        ...(config.region !== undefined ? { region: config.region } : {}),
        ...(config.endpoint !== undefined ? { endpoint: config.endpoint } : {}),
        // Every request: a bounded connect, a bounded wait for the answer; timed-out requests are
        // retried with backoff (standard mode), all within the provider's overall deadline.
        maxAttempts: 3,
        retryMode: 'standard',
        requestHandler: {
          connectionTimeout: config.connectTimeoutMs ?? 5_000,
          requestTimeout: config.requestTimeoutMs ?? 10_000,
          throwOnRequestTimeout: true,
        },
      });
      return new AwsSecretsProvider(client, { ...options, ownsClient: true });
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
