import {
  BatchGetSecretValueCommand,
  GetSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { SecretError } from '../errors.js';
import type { SecretsProvider } from './provider.js';

/** BatchGetSecretValue takes at most 20 secret ids per call. */
export const BATCH_LIMIT = 20;

const NOT_FOUND = 'ResourceNotFoundException';

export interface AwsSecretsProviderOptions {
  /** Destroy the client on close(): true when the provider created it. */
  readonly ownsClient?: boolean;
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : 'UnknownError';
}

function isDenied(code: string): boolean {
  return code === 'AccessDeniedException' || code === 'AccessDenied';
}

/** A SecretError naming the id and the AWS error code; AWS messages never hold secret values. */
function secretFailure(id: string, code: string, cause: unknown): SecretError {
  if (isDenied(code))
    return new SecretError(`access denied to secret "${id}" (${code})`, { cause });
  const detail = cause instanceof Error && cause.message !== '' ? `: ${cause.message}` : '';
  return new SecretError(`cannot read secret "${id}" (${code}${detail})`, { cause });
}

function secretText(entry: {
  SecretString?: string | undefined;
  SecretBinary?: Uint8Array | undefined;
}): string {
  if (entry.SecretString !== undefined) return entry.SecretString;
  if (entry.SecretBinary !== undefined) return Buffer.from(entry.SecretBinary).toString('utf8');
  return '';
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * AWS Secrets Manager through the SDK v3 client (region, credentials and endpoint resolved by the
 * client). Several ids go through BatchGetSecretValue, 20 per call; when the batch call itself is
 * denied (IAM grants only GetSecretValue), every id is fetched with GetSecretValue one by one, and
 * the provider remembers not to try the batch call again. Throttling is retried by the SDK.
 */
export class AwsSecretsProvider implements SecretsProvider {
  private batchDenied = false;
  private closed = false;

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly options: AwsSecretsProviderOptions = {},
  ) {}

  async fetch(
    ids: readonly string[],
    options: { signal?: AbortSignal } = {},
  ): Promise<Map<string, string>> {
    const { signal } = options;
    signal?.throwIfAborted();
    const found = new Map<string, string>();
    for (const chunk of chunks([...new Set(ids)], BATCH_LIMIT)) {
      const rest =
        this.batchDenied || chunk.length === 1
          ? chunk
          : await this.fetchBatch(chunk, found, signal);
      for (const id of rest) {
        const value = await this.fetchOne(id, signal);
        if (value !== undefined) found.set(id, value);
      }
    }
    return found;
  }

  /** Fetches one chunk in one call; returns the ids still unresolved (all of them when denied). */
  private async fetchBatch(
    chunk: readonly string[],
    found: Map<string, string>,
    signal: AbortSignal | undefined,
  ): Promise<readonly string[]> {
    let response;
    try {
      response = await this.client.send(
        new BatchGetSecretValueCommand({ SecretIdList: [...chunk] }),
        signal ? { abortSignal: signal } : {},
      );
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      const code = errorName(error);
      if (isDenied(code)) {
        this.batchDenied = true;
        return chunk;
      }
      throw secretFailure(chunk.join('", "'), code, error);
    }
    const pending = new Set(chunk);
    for (const entry of response.SecretValues ?? []) {
      for (const id of chunk) {
        if (pending.has(id) && (id === entry.Name || id === entry.ARN)) {
          pending.delete(id);
          found.set(id, secretText(entry));
        }
      }
    }
    for (const failure of response.Errors ?? []) {
      const id = failure.SecretId;
      if (id === undefined || !pending.has(id)) continue;
      pending.delete(id);
      const code = failure.ErrorCode ?? 'UnknownError';
      if (code === NOT_FOUND) continue;
      throw secretFailure(id, code, new Error(failure.Message ?? code));
    }
    // Ids the answer did not mention (e.g. a partial ARN) are asked for one by one.
    return [...pending];
  }

  private async fetchOne(id: string, signal: AbortSignal | undefined): Promise<string | undefined> {
    try {
      const response = await this.client.send(
        new GetSecretValueCommand({ SecretId: id }),
        signal ? { abortSignal: signal } : {},
      );
      return secretText(response);
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      const code = errorName(error);
      if (code === NOT_FOUND) return undefined;
      throw secretFailure(id, code, error);
    }
  }

  close(): void {
    if (this.closed || this.options.ownsClient !== true) return;
    this.closed = true;
    this.client.destroy();
  }
}
