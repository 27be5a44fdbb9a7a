import { describe, expect, it } from 'vitest';
import type { EndpointConfig } from '../../src/config/types.js';
import {
  combinedSecretId,
  describeTried,
  perDatabaseSecretId,
  secretLookup,
} from '../../src/secrets/secret-layouts.js';

const ep = (extra: Partial<EndpointConfig>): EndpointConfig => ({
  name: 'source',
  schema: 'public',
  ...extra,
});

describe('secret layouts', () => {
  const secrets = { provider: 'aws', prefix: 'pgcopy', env: 'prod' } as const;

  it('names the per-database and combined ids from prefix and env', () => {
    expect(perDatabaseSecretId(secrets, 'crm')).toBe('pgcopy/prod/crm');
    expect(combinedSecretId(secrets)).toBe('pgcopy/prod');
    expect(perDatabaseSecretId({ provider: 'aws', prefix: '/a/', env: 'b/' }, 'c')).toBe('a/b/c');
  });

  it('does without prefix or env', () => {
    expect(perDatabaseSecretId({ provider: 'env', env: 'dev' }, 'crm')).toBe('dev/crm');
    expect(combinedSecretId({ provider: 'env', env: 'dev' })).toBe('dev');
    expect(perDatabaseSecretId(undefined, 'crm')).toBe('crm');
    expect(combinedSecretId(undefined)).toBeUndefined();
  });

  it('looks up secret: NAME in both layouts and secretId as it is', () => {
    expect(secretLookup(ep({ secret: 'crm' }), secrets)).toEqual({
      kind: 'name',
      name: 'crm',
      perDatabaseId: 'pgcopy/prod/crm',
      combinedId: 'pgcopy/prod',
    });
    const arn = 'arn:aws:secretsmanager:ap-southeast-2:123456789012:secret:x-AbCdEf';
    expect(secretLookup(ep({ secretId: arn }), secrets)).toEqual({ kind: 'id', id: arn });
    expect(secretLookup(ep({ host: 'h' }), secrets)).toBeUndefined();
  });

  it('describes every id tried', () => {
    expect(describeTried({ kind: 'id', id: 'x/y' })).toBe('"x/y"');
    expect(
      describeTried({ kind: 'name', name: 'n', perDatabaseId: 'a/b/n', combinedId: 'a/b' }),
    ).toBe('"a/b/n", then key "n" of "a/b"');
    expect(
      describeTried({ kind: 'name', name: 'n', perDatabaseId: 'n', combinedId: undefined }),
    ).toBe('"n"');
  });
});
