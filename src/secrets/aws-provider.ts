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
  /** Where the client sends its requests, for messages (`http://...`, `Secrets Manager in REGION`). */
  readonly endpoint?: string;
  /** ms for all the calls of one fetch(), the SDK's retries included (default 30000). */
  readonly timeoutMs?: number;
}

export const DEFAULT_SECRETS_TIMEOUT_MS = 30_000;

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : 'UnknownError';
}

function isDenied(code: string): boolean {
  return code === 'AccessDeniedException' || code === 'AccessDenied';
}

function httpStatus(error: unknown): number | undefined {
  const metadata = (error as { $metadata?: { httpStatusCode?: unknown } } | undefined)?.$metadata;
  return typeof metadata?.httpStatusCode === 'number' ? metadata.httpStatusCode : undefined;
}

/**
 * A SecretError naming the id, the AWS error code and the HTTP status. Not the SDK's message: for
 * an answer that is not AWS's JSON (a proxy's HTML error page) it holds the raw body. Not kept as
 * the cause either, so that nothing printing causes can show it.
 */
function secretFailure(id: string, code: string, where?: string): SecretError {
  if (isDenied(code)) return new SecretError(`access denied to secret "${id}" (${code})`);
  return new SecretError(`cannot read secret "${id}" (${code}${where ?? ''})`);
}

/** `, HTTP 503`; or, when no answer came (refused, reset, timed out), where the request went. */
function answerOf(error: unknown, endpoint: string): string {
  const status = httpStatus(error);
  return status !== undefined ? `, HTTP ${status}` : ` from ${endpoint}`;
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
    options.signal?.throwIfAborted();
    // One deadline for every call of this fetch, the SDK's retries included: a service that
    // accepts connections and never answers cannot hold the run.
    const timeoutMs = this.options.timeoutMs ?? DEFAULT_SECRETS_TIMEOUT_MS;
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
    const found = new Map<string, string>();
    let current = ids[0] ?? '';
    try {
      for (const chunk of chunks([...new Set(ids)], BATCH_LIMIT)) {
        current = chunk.join('", "');
        const rest =
          this.batchDenied || chunk.length === 1
            ? chunk
            : await this.fetchBatch(chunk, found, signal);
        for (const id of rest) {
          current = id;
          const value = await this.fetchOne(id, signal);
          if (value !== undefined) found.set(id, value);
        }
      }
    } catch (error) {
      options.signal?.throwIfAborted();
      if (deadline.aborted) {
        throw new SecretError(
          `no answer from ${this.endpoint()} within ${timeoutMs} ms reading secret "${current}" ` +
            '(secrets.timeout; is the endpoint reachable, and is it Secrets Manager?)',
          { code: 'SECRET_TIMEOUT' },
        );
      }
      throw error;
    }
    return found;
  }

  private endpoint(): string {
    return this.options.endpoint ?? 'Secrets Manager';
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
      throw secretFailure(chunk.join('", "'), code, answerOf(error, this.endpoint()));
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
      throw secretFailure(id, code);
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
      throw secretFailure(id, code, answerOf(error, this.endpoint()));
    }
  }

  close(): void {
    if (this.closed || this.options.ownsClient !== true) return;
    this.closed = true;
    this.client.destroy();
  }
}
