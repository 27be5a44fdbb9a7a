import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/**
 * A small in-process AWS Secrets Manager on 127.0.0.1:0 speaking the real AWS JSON 1.1 protocol
 * (POST /, `X-Amz-Target: secretsmanager.<Operation>`, SigV4 `Authorization` header, AWS's error
 * shapes), so tests drive the real SDK client over HTTP. Supports GetSecretValue,
 * BatchGetSecretValue and ListSecrets.
 */

export const REGION = 'ap-southeast-2';
const ACCOUNT = '123456789012';
const CONTENT_TYPE = 'application/x-amz-json-1.1';

export type Operation = 'GetSecretValue' | 'BatchGetSecretValue' | 'ListSecrets';

interface StoredSecret {
  readonly name: string;
  readonly arn: string;
  readonly value: string | Uint8Array;
  readonly created: number;
}

export interface RecordedRequest {
  readonly operation: string;
  readonly body: Readonly<Record<string, unknown>>;
  /** The region of the SigV4 credential scope. */
  readonly region: string;
}

export interface SecretsManagerServerOptions {
  /** Secret name -> value (an object is stored as its JSON text). */
  readonly secrets?: Readonly<Record<string, string | object>>;
  /** Answer BatchGetSecretValue with AccessDeniedException (an IAM policy without it). */
  readonly denyBatch?: boolean;
  /** Secret names whose GetSecretValue is denied (in both operations). */
  readonly denied?: readonly string[];
}

export interface SecretsManagerServer {
  /** `http://127.0.0.1:PORT`, for the client's `endpoint`. */
  readonly endpoint: string;
  readonly requests: readonly RecordedRequest[];
  count(operation: Operation): number;
  /** Adds or replaces a secret (bytes become a SecretBinary); returns its ARN. */
  put(name: string, value: string | object | Uint8Array): string;
  arnOf(name: string): string;
  /** Answer the next `n` requests with ThrottlingException (retried by the SDK). */
  throttleNext(n: number): void;
  denyBatch: boolean;
  readonly denied: Set<string>;
  /** Wait this long before answering (to test aborts mid-request). */
  delayMs: number;
  close(): Promise<void>;
}

class AwsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

const NOT_FOUND = "Secrets Manager can't find the specified secret.";

function deniedMessage(action: string, arn: string): string {
  return `User: arn:aws:iam::${ACCOUNT}:user/test is not authorized to perform: secretsmanager:${action} on resource: ${arn} because no identity-based policy allows the secretsmanager:${action} action`;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (chunk: Buffer) => parts.push(chunk));
    req.on('end', () => {
      resolve(Buffer.concat(parts).toString('utf8'));
    });
    req.on('error', reject);
  });
}

/** The region of a SigV4 header, or an AwsError when the request is not signed. */
function signedRegion(req: IncomingMessage): string {
  const auth = req.headers.authorization ?? '';
  const match =
    /^AWS4-HMAC-SHA256 Credential=[^/]+\/\d{8}\/([a-z0-9-]+)\/secretsmanager\/aws4_request, ?SignedHeaders=[a-z0-9;-]+, ?Signature=[0-9a-f]{64}$/.exec(
      auth,
    );
  if (!match?.[1]) {
    throw new AwsError('MissingAuthenticationTokenException', 'Missing Authentication Token');
  }
  if (req.headers['x-amz-date'] === undefined) {
    throw new AwsError('IncompleteSignatureException', 'X-Amz-Date is missing');
  }
  return match[1];
}

export async function startSecretsManagerServer(
  options: SecretsManagerServerOptions = {},
): Promise<SecretsManagerServer> {
  const secrets = new Map<string, StoredSecret>();
  const requests: RecordedRequest[] = [];
  let throttle = 0;

  const put = (name: string, value: string | object | Uint8Array): string => {
    const suffix = randomBytes(3).toString('hex');
    const arn = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}-${suffix}`;
    const text =
      typeof value === 'string' || value instanceof Uint8Array ? value : JSON.stringify(value);
    secrets.set(name, { name, arn, value: text, created: Math.floor(Date.now() / 1000) });
    return arn;
  };
  for (const [name, value] of Object.entries(options.secrets ?? {})) put(name, value);

  const find = (id: string): StoredSecret | undefined => {
    for (const s of secrets.values()) if (s.name === id || s.arn === id) return s;
    return undefined;
  };

  const getValue = (id: string): Record<string, unknown> => {
    const secret = find(id);
    if (secret && state.denied.has(secret.name)) {
      throw new AwsError('AccessDeniedException', deniedMessage('GetSecretValue', secret.arn));
    }
    if (!secret) throw new AwsError('ResourceNotFoundException', NOT_FOUND);
    return {
      ARN: secret.arn,
      Name: secret.name,
      VersionId: randomUUID(),
      ...(typeof secret.value === 'string'
        ? { SecretString: secret.value }
        : { SecretBinary: Buffer.from(secret.value).toString('base64') }),
      VersionStages: ['AWSCURRENT'],
      CreatedDate: secret.created,
    };
  };

  const handlers: Record<Operation, (body: Record<string, unknown>) => unknown> = {
    GetSecretValue: (body) => {
      const id = body['SecretId'];
      if (typeof id !== 'string' || id === '') {
        throw new AwsError('InvalidParameterException', 'SecretId is required.');
      }
      return getValue(id);
    },
    BatchGetSecretValue: (body) => {
      if (state.denyBatch) {
        throw new AwsError(
          'AccessDeniedException',
          deniedMessage(
            'BatchGetSecretValue',
            `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:*`,
          ),
        );
      }
      const ids = body['SecretIdList'];
      if (!Array.isArray(ids) || ids.length === 0) {
        throw new AwsError(
          'InvalidParameterException',
          'You must provide SecretIdList or Filters.',
        );
      }
      if (ids.length > 20) {
        throw new AwsError(
          'InvalidParameterException',
          'Member must have length less than or equal to 20: SecretIdList',
        );
      }
      const values: unknown[] = [];
      const errors: unknown[] = [];
      for (const id of ids) {
        const secretId = String(id);
        try {
          values.push(getValue(secretId));
        } catch (error) {
          if (!(error instanceof AwsError)) throw error;
          errors.push({ SecretId: secretId, ErrorCode: error.type, Message: error.message });
        }
      }
      return { SecretValues: values, Errors: errors };
    },
    ListSecrets: () => ({
      SecretList: [...secrets.values()].map((s) => ({
        ARN: s.arn,
        Name: s.name,
        LastChangedDate: s.created,
        SecretVersionsToStages: {},
      })),
    }),
  };

  const send = (res: ServerResponse, status: number, body: unknown): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': CONTENT_TYPE,
      'content-length': Buffer.byteLength(text),
      'x-amzn-requestid': randomUUID(),
    });
    res.end(text);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const text = await readBody(req);
    if (state.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, state.delayMs));
    try {
      if (req.method !== 'POST' || req.url !== '/') {
        throw new AwsError('UnknownOperationException', 'Only POST / is served', 404);
      }
      if (req.headers['content-type'] !== CONTENT_TYPE) {
        throw new AwsError('SerializationException', `content-type must be ${CONTENT_TYPE}`);
      }
      const region = signedRegion(req);
      const target = String(req.headers['x-amz-target'] ?? '');
      const operation = target.startsWith('secretsmanager.') ? target.slice(15) : '';
      const body = (text === '' ? {} : JSON.parse(text)) as Record<string, unknown>;
      requests.push({ operation, body, region });
      if (throttle > 0) {
        throttle -= 1;
        throw new AwsError('ThrottlingException', 'Rate exceeded');
      }
      const handler = Object.hasOwn(handlers, operation)
        ? handlers[operation as Operation]
        : undefined;
      if (!handler) throw new AwsError('UnknownOperationException', `Unknown operation ${target}`);
      send(res, 200, handler(body));
    } catch (error) {
      if (error instanceof AwsError) {
        send(res, error.status, { __type: error.type, message: error.message });
      } else {
        send(res, 500, { __type: 'InternalServiceError', message: String(error) });
      }
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;

  const state: SecretsManagerServer = {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    count: (operation) => requests.filter((r) => r.operation === operation).length,
    put,
    arnOf: (name) => {
      const secret = secrets.get(name);
      if (!secret) throw new Error(`no secret ${name}`);
      return secret.arn;
    },
    throttleNext: (n) => {
      throttle = n;
    },
    denyBatch: options.denyBatch ?? false,
    denied: new Set(options.denied ?? []),
    delayMs: 0,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => {
          if (error) reject(error);
          else resolve();
        });
      }),
  };
  return state;
}

/**
 * A real SDK client pointed at the server (credentials from the environment the vitest config
 * sets). Pass `maxAttempts: 1` in tests of error paths: the SDK retries throttling and 5xx.
 */
export function clientFor(
  server: Pick<SecretsManagerServer, 'endpoint'>,
  options: { maxAttempts?: number } = {},
): SecretsManagerClient {
  return new SecretsManagerClient({
    endpoint: server.endpoint,
    region: REGION,
    ...(options.maxAttempts !== undefined ? { maxAttempts: options.maxAttempts } : {}),
  });
}
