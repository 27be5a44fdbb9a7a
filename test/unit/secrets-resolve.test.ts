import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/validate.js';
import { ConfigError, SecretError } from '../../src/errors.js';
import type { SecretsProvider } from '../../src/secrets/provider.js';
import { resolveEndpoints, specFromConfig } from '../../src/secrets/resolve-endpoints.js';

const PASSWORD = 'pw-resolve-0b1c2d3e';
const KEY =
  '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n';
const FINGERPRINT = `SHA256:${'A'.repeat(43)}`;

/** An in-memory provider recording every fetch (the protocol itself is tested against the server). */
class MapProvider implements SecretsProvider {
  readonly calls: string[][] = [];
  constructor(private readonly secrets: Record<string, string | object>) {}
  fetch(ids: readonly string[]): Promise<Map<string, string>> {
    this.calls.push([...ids]);
    const found = new Map<string, string>();
    for (const id of ids) {
      const value = Object.getOwnPropertyDescriptor(this.secrets, id)?.value as unknown;
      if (typeof value === 'string') found.set(id, value);
      else if (value !== undefined) found.set(id, JSON.stringify(value));
    }
    return Promise.resolve(found);
  }
}

const db = (host: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  host,
  port: 5432,
  username: `${host}_user`,
  password: PASSWORD,
  dbname: `${host}_db`,
  ...extra,
});

function config(
  endpoints: {
    source: Record<string, unknown>;
    t1: Record<string, unknown>;
    t2: Record<string, unknown>;
  },
  secrets: Record<string, unknown> | null = { provider: 'aws', prefix: 'pgcopy', env: 'test' },
) {
  return validateConfig({
    ...(secrets ? { secrets } : {}),
    source: endpoints.source,
    targets: [
      { name: 't1', tables: ['a'], ...endpoints.t1 },
      { name: 't2', tables: ['a'], ...endpoints.t2 },
    ],
  });
}

const allSecrets = { source: { secret: 'source' }, t1: { secret: 't1' }, t2: { secret: 't2' } };

/** A target's secret error stays with that target: its spec carries it instead of a throw. */
async function targetFailure(
  promise: Promise<{ targets: ReadonlyMap<string, { unavailable?: Error }> }>,
  name: string,
): Promise<Error> {
  const error = (await promise).targets.get(name)?.unavailable;
  expect(error).toBeInstanceOf(SecretError);
  return error as Error;
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Error);
  const e = error as Error;
  expect(`${e.message}\n${String(e.stack)}\n${JSON.stringify(e)}`).not.toContain(PASSWORD);
  return e;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pgcopy-resolve-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('resolveEndpoints with secrets', () => {
  it('resolves per-database secrets <prefix>/<env>/<name> in one fetch', async () => {
    const provider = new MapProvider({
      'pgcopy/test/source': db('src'),
      'pgcopy/test/t1': db('one', { port: '6001' }),
      'pgcopy/test/t2': db('two'),
    });
    const { source, targets } = await resolveEndpoints(config(allSecrets), { secrets: provider });
    expect(source).toEqual({
      name: 'source',
      host: 'src',
      port: 5432,
      database: 'src_db',
      user: 'src_user',
      password: PASSWORD,
      passwordSources: [
        'source.password',
        'source.url',
        'secret "pgcopy/test/source" field "password"',
      ],
      sslmode: 'prefer',
    });
    expect(targets.get('t1')).toMatchObject({ host: 'one', port: 6001, user: 'one_user' });
    expect(targets.get('t2')).toMatchObject({ host: 'two', database: 'two_db' });
    expect(provider.calls).toEqual([['pgcopy/test/source', 'pgcopy/test/t1', 'pgcopy/test/t2']]);
  });

  it('falls back to the key NAME of the combined secret <prefix>/<env>', async () => {
    const provider = new MapProvider({
      'pgcopy/test': { source: db('src'), t1: db('one'), t2: db('two') },
    });
    const { source, targets } = await resolveEndpoints(config(allSecrets), { secrets: provider });
    expect(source.host).toBe('src');
    expect(targets.get('t2')?.user).toBe('two_user');
    expect(provider.calls).toEqual([
      ['pgcopy/test/source', 'pgcopy/test/t1', 'pgcopy/test/t2'],
      ['pgcopy/test'],
    ]);
  });

  it('prefers the per-database secret over the combined one, and uses secretId as it is', async () => {
    const arn = 'arn:aws:secretsmanager:ap-southeast-2:123456789012:secret:other-AbCdEf';
    const provider = new MapProvider({
      'pgcopy/test/source': db('src'),
      'pgcopy/test': { source: db('wrong'), t1: db('one') },
      [arn]: db('byarn'),
    });
    const { source, targets } = await resolveEndpoints(
      config({ source: { secret: 'source' }, t1: { secret: 't1' }, t2: { secretId: arn } }),
      { secrets: provider },
    );
    expect(source.host).toBe('src');
    expect(targets.get('t1')?.host).toBe('one');
    expect(targets.get('t2')?.host).toBe('byarn');
    expect(provider.calls).toEqual([
      ['pgcopy/test/source', 'pgcopy/test/t1', arn],
      ['pgcopy/test'],
    ]);
  });

  it('lets config values override secret values field by field', async () => {
    const provider = new MapProvider({
      'pgcopy/test/source': db('src'),
      'pgcopy/test/t1': db('one'),
    });
    const { source, targets } = await resolveEndpoints(
      config({
        source: { secret: 'source', database: 'analytics', port: 6432, sslmode: 'require' },
        t1: { secret: 't1', user: 'loader', password: 'from-config' },
        t2: { host: 'plain', database: 'd', user: 'u' },
      }),
      { secrets: provider },
    );
    expect(source).toMatchObject({
      host: 'src',
      database: 'analytics',
      port: 6432,
      sslmode: 'require',
    });
    expect(targets.get('t1')).toMatchObject({
      host: 'one',
      user: 'loader',
      password: 'from-config',
    });
    expect(targets.get('t2')).toEqual({
      name: 't2',
      host: 'plain',
      port: 5432,
      database: 'd',
      user: 'u',
      passwordSources: ['targets[1].password', 'targets[1].url'],
      sslmode: 'prefer',
    });
    expect(provider.calls).toEqual([['pgcopy/test/source', 'pgcopy/test/t1']]);
  });

  it('completes an RDS-managed secret (username, password) with host and database from the config', async () => {
    const provider = new MapProvider({
      'rds!db-1234': { username: 'postgres', password: PASSWORD },
    });
    const { source } = await resolveEndpoints(
      config({
        source: { secretId: 'rds!db-1234', host: 'prod.rds.example', database: 'app' },
        t1: { host: 'h', database: 'd', user: 'u' },
        t2: { host: 'h', database: 'd', user: 'u' },
      }),
      { secrets: provider },
    );
    expect(source).toMatchObject({ host: 'prod.rds.example', database: 'app', user: 'postgres' });
    expect(source.password).toBe(PASSWORD);
  });

  it('reports a secret not found, naming every id tried', async () => {
    const provider = new MapProvider({
      'pgcopy/test/source': db('src'),
      'pgcopy/test': { t1: db('one') },
    });
    const error = await targetFailure(
      resolveEndpoints(config(allSecrets), { secrets: provider }),
      't2',
    );
    expect(error.message).toBe(
      'targets[1]: secret not found (tried "pgcopy/test/t2", then key "t2" of "pgcopy/test")',
    );
    const byId = await failure(
      resolveEndpoints(config({ ...allSecrets, source: { secretId: 'x/y' } }), {
        secrets: provider,
      }),
    );
    expect(byId.message).toBe('source: secret not found (tried "x/y")');
  });

  it('reports a required field missing, naming the field and the secret', async () => {
    const provider = new MapProvider({
      'pgcopy/test/source': { username: 'u', password: PASSWORD, dbname: 'd' },
      'pgcopy/test': { t1: { host: 'h', password: PASSWORD }, t2: db('two') },
    });
    const error = await failure(resolveEndpoints(config(allSecrets), { secrets: provider }));
    expect(error).toBeInstanceOf(SecretError);
    expect(error.message).toBe(
      'source: secret "pgcopy/test/source" has no "host" field, and source.host is not set',
    );
    const combined = await targetFailure(
      resolveEndpoints(config({ ...allSecrets, source: { host: 'h', database: 'd', user: 'u' } }), {
        secrets: provider,
      }),
      't1',
    );
    expect(combined.message).toBe(
      'targets[0]: secret "pgcopy/test" key "t1" has no "dbname" field, and targets[0].database is not set',
    );
    const user = await targetFailure(
      resolveEndpoints(
        config({
          ...allSecrets,
          source: { host: 'h', database: 'd', user: 'u' },
          t1: { secret: 't1', database: 'd' },
        }),
        { secrets: provider },
      ),
      't1',
    );
    expect(user.message).toBe(
      'targets[0]: secret "pgcopy/test" key "t1" has no "username" field, and targets[0].user is not set',
    );
  });

  it('a secret whose host holds a port (db:5433) says where the port goes', async () => {
    const provider = new MapProvider({
      'pgcopy/test/source': db('src'),
      'pgcopy/test/t1': db('db.internal:5433'),
      'pgcopy/test/t2': db('two'),
    });
    const error = await targetFailure(
      resolveEndpoints(config(allSecrets), { secrets: provider }),
      't1',
    );
    expect(error.message).toBe(
      'targets[0]: secret "pgcopy/test/t1" field "host" holds a port ("db.internal:5433"): give the host name alone, and the port in the port field',
    );
    // An IPv6 address is not a host with a port.
    const v6 = new MapProvider({ 'pgcopy/test/source': db('::1') });
    expect((await resolveEndpoints(config(allSecrets), { secrets: v6 })).source.host).toBe('::1');
  });

  it('reports a secret that is not JSON, naming it and never printing the content', async () => {
    const provider = new MapProvider({
      'pgcopy/test/source': `password=${PASSWORD}`,
      'pgcopy/test/t1': db('one'),
      'pgcopy/test/t2': db('two'),
    });
    const error = await failure(resolveEndpoints(config(allSecrets), { secrets: provider }));
    expect(error).toBeInstanceOf(SecretError);
    expect(error.message).toBe('secret "pgcopy/test/source" is not valid JSON');
  });

  it('keeps the "no secrets provider configured" error', async () => {
    const error = await failure(resolveEndpoints(config(allSecrets, null)));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe(
      'source.secret: no secrets provider configured (add a secrets section)',
    );
  });

  it('works without prefix and env: secret NAME is the id itself', async () => {
    const provider = new MapProvider({ source: db('s'), t1: db('a'), t2: db('b') });
    const { targets } = await resolveEndpoints(config(allSecrets, { provider: 'env' }), {
      secrets: provider,
    });
    expect(targets.get('t1')?.host).toBe('a');
    expect(provider.calls).toEqual([['source', 't1', 't2']]);
  });

  it('does not call the provider when no endpoint references a secret', async () => {
    const provider = new MapProvider({});
    const plain = { host: 'h', database: 'd', user: 'u' };
    await resolveEndpoints(config({ source: plain, t1: plain, t2: plain }), { secrets: provider });
    expect(provider.calls).toEqual([]);
  });

  it('passes the signal to the provider', async () => {
    const reason = new Error('stop');
    const provider: SecretsProvider = {
      fetch: (_ids, options) =>
        options?.signal?.aborted
          ? Promise.reject(options.signal.reason as Error)
          : Promise.resolve(new Map()),
    };
    await expect(
      resolveEndpoints(config(allSecrets), {
        secrets: provider,
        signal: AbortSignal.abort(reason),
      }),
    ).rejects.toBe(reason);
  });
});

describe('SSH keys from secrets', () => {
  const ssh = { host: 'bastion', user: 'tunnel', fingerprint: FINGERPRINT };
  const plain = { host: 'h', database: 'd', user: 'u' };

  it('puts the secret ssh key into spec.ssh.privateKey when the endpoint has ssh and no keyFile', async () => {
    const provider = new MapProvider({
      'pgcopy/test/source': db('src', { ssh: KEY }),
      'pgcopy/test/t1': db('one', { ssh: { privateKey: KEY, passphrase: 'pp-secret' } }),
    });
    const { source, targets } = await resolveEndpoints(
      config({ source: { secret: 'source', ssh }, t1: { secret: 't1', ssh }, t2: plain }),
      { secrets: provider },
    );
    expect(source.ssh).toMatchObject({ host: 'bastion', user: 'tunnel', privateKey: KEY });
    expect(source.ssh?.passphrase).toBeUndefined();
    expect(targets.get('t1')?.ssh).toMatchObject({ privateKey: KEY, passphrase: 'pp-secret' });
  });

  it('prefers the config keyFile and passphrase', async () => {
    const keyFile = join(dir, 'id_test');
    await writeFile(keyFile, 'FILE KEY', { mode: 0o600 });
    const provider = new MapProvider({
      'pgcopy/test/source': db('src', { ssh: { privateKey: KEY, passphrase: 'from-secret' } }),
      'pgcopy/test/t1': db('one', { ssh: { privateKey: KEY, passphrase: 'from-secret' } }),
    });
    const { source, targets } = await resolveEndpoints(
      config({
        source: { secret: 'source', ssh: { ...ssh, keyFile } },
        t1: { secret: 't1', ssh: { ...ssh, passphrase: 'from-config' } },
        t2: plain,
      }),
      { secrets: provider },
    );
    expect(source.ssh?.privateKey).toBe('FILE KEY');
    expect(targets.get('t1')?.ssh).toMatchObject({ privateKey: KEY, passphrase: 'from-config' });
  });

  it('ignores a secret ssh key when the endpoint has no ssh settings', async () => {
    const provider = new MapProvider({ 'pgcopy/test/source': db('src', { ssh: KEY }) });
    const { source } = await resolveEndpoints(
      config({ source: { secret: 'source' }, t1: plain, t2: plain }),
      { secrets: provider },
    );
    expect(source.ssh).toBeUndefined();
  });

  it('asks for a key when neither keyFile nor the secret has one', async () => {
    const provider = new MapProvider({ 'pgcopy/test/source': db('src') });
    const error = await failure(
      resolveEndpoints(config({ source: { secret: 'source', ssh }, t1: plain, t2: plain }), {
        secrets: provider,
      }),
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe(
      'source.ssh: needs keyFile (or a secret whose ssh field holds the key)',
    );
  });
});

describe('specFromConfig without a secret', () => {
  it('keeps its messages', async () => {
    await expect(specFromConfig('source', { name: 'source', schema: 'public' })).rejects.toThrow(
      new ConfigError('source.host: is required (give it, a url, or a secret)'),
    );
    await expect(
      specFromConfig('targets[0]', {
        name: 't',
        schema: 'public',
        host: 'h',
        database: 'd',
        user: 'u',
        ssh: {
          host: 'b',
          port: 22,
          user: 'x',
          fingerprints: [],
          keyFile: join(dir, 'missing'),
          readyTimeoutMs: 1,
          keepaliveIntervalMs: 1,
        },
      }),
    ).rejects.toThrow(`targets[0].ssh.keyFile: cannot read ${join(dir, 'missing')} (ENOENT)`);
  });
});
