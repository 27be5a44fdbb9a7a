import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { MaskKeySource, SecretsConfig } from '../../src/config/types.js';
import { ConfigError, SecretError } from '../../src/errors.js';
import { MIN_MASK_KEY_BYTES, derivedMaskKey, resolveMaskKey } from '../../src/masking/mask-key.js';
import { createSecretsProvider } from '../../src/secrets/create-provider.js';
import { envVariableFor } from '../../src/secrets/env-provider.js';
import type { SecretsProvider } from '../../src/secrets/provider.js';
import {
  clientFor,
  startSecretsManagerServer,
  type SecretsManagerServer,
} from '../support/secrets-manager-server.js';

/**
 * options.maskKey resolved through the real secrets providers (a JSON file, the environment, a
 * local Secrets Manager speaking AWS's protocol): the derived key, and errors that name where
 * the key was looked for and never the key.
 */

const KEY = 'mask-key-0123456789abcdef-secret';
const OTHER_KEY = 'mask-key-fedcba9876543210-other';
const SHORT_KEY = 'short-key-15byt';

/** The error a resolution rejects with; its message and stack never hold a key. */
async function failure(
  source: MaskKeySource,
  deps: Parameters<typeof resolveMaskKey>[1],
): Promise<Error> {
  const error = await resolveMaskKey(source, deps).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Error);
  const e = error as Error;
  for (const secret of [KEY, OTHER_KEY, SHORT_KEY]) {
    expect(e.message).not.toContain(secret);
    expect(String(e.stack)).not.toContain(secret);
  }
  return e;
}

describe('a key from the environment', () => {
  it('derives 32 hex digits, the same for the same key, other for another key', async () => {
    const source = { env: 'PGCOPY_MASK_KEY' };
    const derived = await resolveMaskKey(source, { env: { PGCOPY_MASK_KEY: KEY } });
    expect(derived).toMatch(/^[0-9a-f]{32}$/);
    expect(derived).toBe(derivedMaskKey(KEY));
    expect(await resolveMaskKey(source, { env: { PGCOPY_MASK_KEY: KEY } })).toBe(derived);
    expect(await resolveMaskKey(source, { env: { PGCOPY_MASK_KEY: OTHER_KEY } })).not.toBe(derived);
    expect(derived).not.toContain(KEY);
  });

  it('a variable unset or empty is a config error naming the variable', async () => {
    for (const env of [{}, { PGCOPY_MASK_KEY: '' }, { OTHER: KEY }]) {
      const error = await failure({ env: 'PGCOPY_MASK_KEY' }, { env });
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toBe(
        'options.maskKey: environment variable PGCOPY_MASK_KEY is not set',
      );
    }
  });

  it('a key shorter than 16 bytes is refused without showing it; 16 bytes in 8 characters will do', async () => {
    expect(Buffer.byteLength(SHORT_KEY)).toBe(MIN_MASK_KEY_BYTES - 1);
    const error = await failure({ env: 'MY_KEY' }, { env: { MY_KEY: SHORT_KEY } });
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe(
      'options.maskKey: the key in environment variable MY_KEY has fewer than 16 bytes (value not shown)',
    );
    const wide = 'é'.repeat(8);
    expect(await resolveMaskKey({ env: 'MY_KEY' }, { env: { MY_KEY: wide } })).toBe(
      derivedMaskKey(wide),
    );
  });
});

describe('a key from a secret', () => {
  let dir: string;
  let file: string;
  const secretsConfig = (): SecretsConfig => ({
    provider: 'file',
    file,
    prefix: 'pgcopy',
    env: 'test',
  });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pgcopy-mask-key-'));
    file = join(dir, 'secrets.json');
    await writeFile(
      file,
      JSON.stringify({
        'pgcopy/test/plain': KEY,
        'pgcopy/test/json': { key: KEY, note: 'rotated yearly' },
        'pgcopy/test/not-a-key-field': { password: OTHER_KEY },
        'pgcopy/test/short': SHORT_KEY,
        'pgcopy/test/short-json': { key: SHORT_KEY },
        'mask-key': OTHER_KEY,
      }),
    );
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const deps = (): Parameters<typeof resolveMaskKey>[1] => ({
    env: {},
    secrets: createSecretsProvider(secretsConfig()),
    secretsConfig: secretsConfig(),
  });

  it('the secret text, or the key field of a JSON object, under the prefix and env', async () => {
    expect(await resolveMaskKey({ secret: 'plain' }, deps())).toBe(derivedMaskKey(KEY));
    expect(await resolveMaskKey({ secret: 'json' }, deps())).toBe(derivedMaskKey(KEY));
    // Without prefix and env, the name is the secret's id.
    const bare = { provider: 'file', file } as const;
    expect(
      await resolveMaskKey(
        { secret: 'mask-key' },
        { env: {}, secrets: createSecretsProvider(bare), secretsConfig: bare },
      ),
    ).toBe(derivedMaskKey(OTHER_KEY));
  });

  it('a JSON object without a key field is taken as text, as any other secret', async () => {
    const text = JSON.stringify({ password: OTHER_KEY });
    expect(await resolveMaskKey({ secret: 'not-a-key-field' }, deps())).toBe(derivedMaskKey(text));
  });

  it('a missing secret is a secret error naming its id', async () => {
    const error = await failure({ secret: 'nope' }, deps());
    expect(error).toBeInstanceOf(SecretError);
    expect(error.message).toBe('options.maskKey: secret "pgcopy/test/nope" not found');
  });

  it('a short key in a secret, as text or as a JSON field, names the secret and not the key', async () => {
    for (const name of ['short', 'short-json']) {
      const error = await failure({ secret: name }, deps());
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toBe(
        `options.maskKey: the key in secret "pgcopy/test/${name}" has fewer than 16 bytes (value not shown)`,
      );
    }
  });

  it('without a secrets provider, the config key to add is named', async () => {
    const error = await failure({ secret: 'plain' }, { env: {}, secretsConfig: secretsConfig() });
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe(
      'options.maskKey.secret: no secrets provider configured (add a secrets section)',
    );
  });

  it('an aborted run reads no secret', async () => {
    const controller = new AbortController();
    controller.abort(new Error('run cancelled'));
    const error = await failure({ secret: 'plain' }, { ...deps(), signal: controller.signal });
    expect(error.message).toBe('run cancelled');
  });

  it('the env provider: the secret from its PGCOPY_SECRET_ variable', async () => {
    const config: SecretsConfig = { provider: 'env', prefix: 'pgcopy', env: 'test' };
    const env = { [envVariableFor('pgcopy/test/mask-key')]: JSON.stringify({ key: KEY }) };
    const secrets = createSecretsProvider(config, { env });
    expect(
      await resolveMaskKey({ secret: 'mask-key' }, { env, secrets, secretsConfig: config }),
    ).toBe(derivedMaskKey(KEY));
    const error = await failure({ secret: 'other' }, { env, secrets, secretsConfig: config });
    expect(error.message).toBe('options.maskKey: secret "pgcopy/test/other" not found');
  });
});

describe('a key from AWS Secrets Manager (a local server, the real SDK)', () => {
  let server: SecretsManagerServer;
  const providers: SecretsProvider[] = [];
  const config: SecretsConfig = { provider: 'aws', prefix: 'app', env: 'prod' };

  function provider(maxAttempts?: number): SecretsProvider {
    const p = createSecretsProvider(config, {
      client: clientFor(server, maxAttempts === undefined ? {} : { maxAttempts }),
    });
    providers.push(p);
    return p;
  }

  beforeEach(async () => {
    server = await startSecretsManagerServer({
      secrets: {
        'app/prod/mask-key': { key: KEY },
        'app/prod/plain-key': OTHER_KEY,
        'app/prod/short': SHORT_KEY,
      },
    });
  });

  afterEach(async () => {
    for (const p of providers.splice(0)) p.close?.();
    await server.close();
  });

  it('fetches the per-database secret id once and derives the key', async () => {
    const secrets = provider();
    expect(
      await resolveMaskKey({ secret: 'mask-key' }, { env: {}, secrets, secretsConfig: config }),
    ).toBe(derivedMaskKey(KEY));
    expect(server.count('GetSecretValue')).toBe(1);
    expect(server.requests[0]?.body).toEqual({ SecretId: 'app/prod/mask-key' });
    expect(
      await resolveMaskKey({ secret: 'plain-key' }, { env: {}, secrets, secretsConfig: config }),
    ).toBe(derivedMaskKey(OTHER_KEY));
  });

  it('not found, too short and access denied: errors naming the secret, never the key', async () => {
    const secrets = provider(1);
    const deps = { env: {}, secrets, secretsConfig: config };
    const missing = await failure({ secret: 'gone' }, deps);
    expect(missing).toBeInstanceOf(SecretError);
    expect(missing.message).toBe('options.maskKey: secret "app/prod/gone" not found');
    const short = await failure({ secret: 'short' }, deps);
    expect(short).toBeInstanceOf(ConfigError);
    expect(short.message).toContain('secret "app/prod/short" has fewer than 16 bytes');
    server.denied.add('app/prod/mask-key');
    const denied = await failure({ secret: 'mask-key' }, deps);
    expect(denied).toBeInstanceOf(SecretError);
    expect(denied.message).toContain('app/prod/mask-key');
  });
});
