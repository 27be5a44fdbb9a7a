import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SecretError } from '../../src/errors.js';
import { AwsSecretsProvider } from '../../src/secrets/aws-provider.js';
import { createSecretsProvider } from '../../src/secrets/create-provider.js';
import {
  clientFor,
  startSecretsManagerServer,
  type SecretsManagerServer,
} from '../support/secrets-manager-server.js';

const PASSWORD = 'pw-aws-provider-7f3c9e';

let server: SecretsManagerServer;
const clients: SecretsManagerClient[] = [];

function client(options: { maxAttempts?: number } = {}): SecretsManagerClient {
  const c = clientFor(server, options);
  clients.push(c);
  return c;
}

async function rejection(promise: Promise<unknown>): Promise<SecretError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SecretError);
  const secretError = error as SecretError;
  expect(secretError.code).toBe('SECRET');
  expect(String(secretError.stack)).not.toContain(PASSWORD);
  return secretError;
}

beforeEach(async () => {
  server = await startSecretsManagerServer({
    secrets: {
      'app/test/a': { username: 'a', password: PASSWORD },
      'app/test/b': { username: 'b', password: PASSWORD },
      'app/test/c': 'plain text',
    },
  });
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await server.close();
});

describe('AwsSecretsProvider against a local Secrets Manager (real SDK, signed requests)', () => {
  it('fetches several ids in one BatchGetSecretValue call; missing ids are absent', async () => {
    const provider = new AwsSecretsProvider(client());
    const found = await provider.fetch(['app/test/a', 'app/test/b', 'app/test/nope', 'app/test/a']);
    expect([...found.keys()].sort()).toEqual(['app/test/a', 'app/test/b']);
    expect(JSON.parse(found.get('app/test/a') ?? '')).toEqual({
      username: 'a',
      password: PASSWORD,
    });
    expect(server.count('BatchGetSecretValue')).toBe(1);
    expect(server.count('GetSecretValue')).toBe(0);
    expect(server.requests[0]?.body).toEqual({
      SecretIdList: ['app/test/a', 'app/test/b', 'app/test/nope'],
    });
    expect(server.requests[0]?.region).toBe('ap-southeast-2');
  });

  it('uses GetSecretValue for a single id, and accepts a full ARN', async () => {
    const provider = new AwsSecretsProvider(client());
    const arn = server.arnOf('app/test/b');
    const found = await provider.fetch([arn]);
    expect(found.get(arn)).toContain('"username":"b"');
    expect(await provider.fetch(['app/test/missing'])).toEqual(new Map());
    expect(server.count('GetSecretValue')).toBe(2);
    expect(server.count('BatchGetSecretValue')).toBe(0);
  });

  it('reads a SecretBinary as UTF-8 text, alone and in a batch', async () => {
    server.put('app/test/bin', Buffer.from('{"host":"from-binary"}'));
    const provider = new AwsSecretsProvider(client());
    expect((await provider.fetch(['app/test/bin'])).get('app/test/bin')).toBe(
      '{"host":"from-binary"}',
    );
    const both = await provider.fetch(['app/test/bin', 'app/test/c']);
    expect(both.get('app/test/bin')).toBe('{"host":"from-binary"}');
    expect(both.get('app/test/c')).toBe('plain text');
  });

  it('matches ARNs in a batch answer', async () => {
    const provider = new AwsSecretsProvider(client());
    const arn = server.arnOf('app/test/a');
    const found = await provider.fetch([arn, 'app/test/b']);
    expect([...found.keys()]).toEqual([arn, 'app/test/b']);
    expect(server.count('BatchGetSecretValue')).toBe(1);
  });

  it('splits 45 ids into batches of at most 20', async () => {
    const ids = Array.from({ length: 45 }, (_, i) => `bulk/${i}`);
    for (const id of ids) server.put(id, { host: id });
    const provider = new AwsSecretsProvider(client());
    const found = await provider.fetch(ids);
    expect(found.size).toBe(45);
    expect(found.get('bulk/44')).toBe('{"host":"bulk/44"}');
    const sizes = server.requests.map((r) => (r.body['SecretIdList'] as unknown[]).length);
    expect(sizes).toEqual([20, 20, 5]);
  });

  it('falls back to GetSecretValue one by one when BatchGetSecretValue is denied, and remembers', async () => {
    server.denyBatch = true;
    const provider = new AwsSecretsProvider(client({ maxAttempts: 1 }));
    const found = await provider.fetch(['app/test/a', 'app/test/b', 'app/test/nope']);
    expect([...found.keys()]).toEqual(['app/test/a', 'app/test/b']);
    expect(server.count('BatchGetSecretValue')).toBe(1);
    expect(server.count('GetSecretValue')).toBe(3);
    await provider.fetch(['app/test/a', 'app/test/b']);
    expect(server.count('BatchGetSecretValue')).toBe(1);
    expect(server.count('GetSecretValue')).toBe(5);
  });

  it('reports access denied naming the id and the AWS error code (GetSecretValue)', async () => {
    server.denied.add('app/test/a');
    const provider = new AwsSecretsProvider(client({ maxAttempts: 1 }));
    const error = await rejection(provider.fetch(['app/test/a']));
    expect(error.message).toBe('access denied to secret "app/test/a" (AccessDeniedException)');
  });

  it('reports access denied from a batch answer', async () => {
    server.denied.add('app/test/b');
    const provider = new AwsSecretsProvider(client({ maxAttempts: 1 }));
    const error = await rejection(provider.fetch(['app/test/a', 'app/test/b']));
    expect(error.message).toBe('access denied to secret "app/test/b" (AccessDeniedException)');
    expect(server.count('BatchGetSecretValue')).toBe(1);
  });

  it('reports access denied after the batch fallback too', async () => {
    server.denyBatch = true;
    server.denied.add('app/test/b');
    const provider = new AwsSecretsProvider(client({ maxAttempts: 1 }));
    const error = await rejection(provider.fetch(['app/test/a', 'app/test/b']));
    expect(error.message).toBe('access denied to secret "app/test/b" (AccessDeniedException)');
  });

  it('lets the SDK retry throttling', async () => {
    server.throttleNext(1);
    const provider = new AwsSecretsProvider(client());
    const found = await provider.fetch(['app/test/a']);
    expect(found.has('app/test/a')).toBe(true);
    expect(server.count('GetSecretValue')).toBe(2);
  });

  it('reports throttling that outlasts the retries, naming the id and the code', async () => {
    server.throttleNext(5);
    const provider = new AwsSecretsProvider(client({ maxAttempts: 1 }));
    const error = await rejection(provider.fetch(['app/test/a']));
    expect(error.message).toBe('cannot read secret "app/test/a" (ThrottlingException, HTTP 400)');
  });

  it('names every id of a failed batch call', async () => {
    server.throttleNext(5);
    const provider = new AwsSecretsProvider(client({ maxAttempts: 1 }));
    const error = await rejection(provider.fetch(['app/test/a', 'app/test/b']));
    expect(error.message).toBe(
      'cannot read secret "app/test/a", "app/test/b" (ThrottlingException, HTTP 400)',
    );
  });

  it('rejects with the signal reason when aborted', async () => {
    const provider = new AwsSecretsProvider(client());
    const controller = new AbortController();
    const reason = new Error('stop');
    controller.abort(reason);
    await expect(provider.fetch(['app/test/a'], { signal: controller.signal })).rejects.toBe(
      reason,
    );
    expect(server.requests).toHaveLength(0);
  });

  it.each([['app/test/a'], ['app/test/a', 'app/test/b']])(
    'rejects with the signal reason when aborted mid-request (%s ...)',
    async (...ids) => {
      server.delayMs = 2_000;
      const provider = new AwsSecretsProvider(client());
      const controller = new AbortController();
      const reason = new Error('stop');
      setTimeout(() => {
        controller.abort(reason);
      }, 50);
      const started = Date.now();
      await expect(provider.fetch(ids, { signal: controller.signal })).rejects.toBe(reason);
      expect(Date.now() - started).toBeLessThan(1_500);
    },
  );

  it('serves ListSecrets like AWS (for operators poking at the test server)', async () => {
    const { ListSecretsCommand } = await import('@aws-sdk/client-secrets-manager');
    const list = await client().send(new ListSecretsCommand({}));
    expect(list.SecretList?.map((s) => s.Name).sort()).toEqual([
      'app/test/a',
      'app/test/b',
      'app/test/c',
    ]);
  });
});

describe('createSecretsProvider("aws")', () => {
  it('builds its own client from secrets.endpoint and secrets.region, destroyed by close()', async () => {
    const provider = createSecretsProvider({
      provider: 'aws',
      endpoint: server.endpoint,
      region: 'eu-west-1',
    });
    const found = await provider.fetch(['app/test/a', 'app/test/b']);
    expect(found.size).toBe(2);
    expect(server.requests[0]?.region).toBe('eu-west-1');
    provider.close?.();
    provider.close?.();
  });

  it('honours AWS_ENDPOINT_URL_SECRETS_MANAGER without an endpoint in the config', async () => {
    const saved = process.env['AWS_ENDPOINT_URL_SECRETS_MANAGER'];
    process.env['AWS_ENDPOINT_URL_SECRETS_MANAGER'] = server.endpoint;
    try {
      const provider = createSecretsProvider({ provider: 'aws' });
      try {
        expect((await provider.fetch(['app/test/c'])).get('app/test/c')).toBe('plain text');
      } finally {
        provider.close?.();
      }
      expect(server.requests[0]?.region).toBe('ap-southeast-2');
    } finally {
      if (saved === undefined) delete process.env['AWS_ENDPOINT_URL_SECRETS_MANAGER'];
      else process.env['AWS_ENDPOINT_URL_SECRETS_MANAGER'] = saved;
    }
  });

  it('uses an injected client and leaves it open', async () => {
    const c = client();
    const provider = createSecretsProvider({ provider: 'aws' }, { client: c });
    provider.close?.();
    expect((await provider.fetch(['app/test/a'])).size).toBe(1);
  });
});
