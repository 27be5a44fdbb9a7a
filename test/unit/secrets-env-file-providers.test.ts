import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, type SecretError } from '../../src/errors.js';
import { createSecretsProvider } from '../../src/secrets/create-provider.js';
import { EnvSecretsProvider, envVariableFor } from '../../src/secrets/env-provider.js';
import { FileSecretsProvider } from '../../src/secrets/file-provider.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pgcopy-secrets-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('env provider', () => {
  it('maps an id to PGCOPY_SECRET_<NAME>', () => {
    expect(envVariableFor('pgcopy/prod/source')).toBe('PGCOPY_SECRET_PGCOPY_PROD_SOURCE');
    expect(envVariableFor('my-app.crm')).toBe('PGCOPY_SECRET_MY_APP_CRM');
  });

  it('returns the variables that are set and not empty', async () => {
    const provider = new EnvSecretsProvider({
      PGCOPY_SECRET_A_B: '{"host":"h"}',
      PGCOPY_SECRET_EMPTY: '',
    });
    const found = await provider.fetch(['a/b', 'empty', 'missing']);
    expect(found).toEqual(new Map([['a/b', '{"host":"h"}']]));
  });

  it('is what createSecretsProvider builds for provider env, with the injected env', async () => {
    const provider = createSecretsProvider({ provider: 'env' }, { env: { PGCOPY_SECRET_X: '{}' } });
    expect(provider).toBeInstanceOf(EnvSecretsProvider);
    expect(await provider.fetch(['x'])).toEqual(new Map([['x', '{}']]));
  });

  it('honours an aborted signal', async () => {
    const provider = new EnvSecretsProvider({});
    const reason = new Error('stop');
    await expect(provider.fetch(['x'], { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
  });
});

describe('file provider', () => {
  it('reads objects (as JSON text) and strings (as they are)', async () => {
    const file = join(dir, 'secrets.json');
    await writeFile(
      file,
      JSON.stringify({ 'a/b': { host: 'h', port: 5432 }, 'a/c': '{"user":"u"}' }),
    );
    const provider = createSecretsProvider({ provider: 'file', file });
    expect(provider).toBeInstanceOf(FileSecretsProvider);
    const found = await provider.fetch(['a/b', 'a/c', 'a/missing']);
    expect(found).toEqual(
      new Map([
        ['a/b', '{"host":"h","port":5432}'],
        ['a/c', '{"user":"u"}'],
      ]),
    );
  });

  it('needs secrets.file', () => {
    expect(() => createSecretsProvider({ provider: 'file' })).toThrow(
      new ConfigError('secrets.file: is required when provider is "file"'),
    );
  });

  it('reports a missing file', async () => {
    const file = join(dir, 'nope.json');
    const provider = new FileSecretsProvider(file);
    const error = await provider.fetch(['x']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toBe(`secrets.file: cannot read ${file} (ENOENT)`);
  });

  it('reports a file that is not JSON without printing its content', async () => {
    const file = join(dir, 'broken.json');
    await writeFile(file, '{"a": {"password": "hunter2-file"');
    const error = (await new FileSecretsProvider(file)
      .fetch(['a'])
      .catch((e: unknown) => e)) as SecretError;
    expect(error.message).toBe(`secrets file "${file}" is not valid JSON`);
    expect(String(error.stack)).not.toContain('hunter2');
    expect(error.cause).toBeUndefined();
  });

  it('reports a file that is not a JSON object', async () => {
    const file = join(dir, 'list.json');
    await writeFile(file, '[]');
    await expect(new FileSecretsProvider(file).fetch(['a'])).rejects.toThrow(
      `secrets file "${file}" must be a JSON object mapping secret ids to secrets`,
    );
  });

  it('rejects with the signal reason when aborted', async () => {
    const reason = new Error('stop');
    const provider = new FileSecretsProvider(join(dir, 'secrets.json'), () =>
      Promise.reject(new Error('aborted read')),
    );
    const controller = new AbortController();
    const pending = provider.fetch(['a'], { signal: controller.signal });
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
  });
});
