import { describe, expect, it } from 'vitest';
import { SecretError } from '../../src/errors.js';
import {
  combinedEntry,
  parseSecretJson,
  readSecretFields,
} from '../../src/secrets/parse-secret.js';

const KEY =
  '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n';
const label = 'secret "app/prod/source"';

function thrown(fn: () => unknown): SecretError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(SecretError);
    return error as SecretError;
  }
  throw new Error('did not throw');
}

describe('parseSecretJson', () => {
  it('parses a JSON object', () => {
    expect(parseSecretJson(label, '{"host":"h"}')).toEqual({ host: 'h' });
  });

  it('names the secret but never prints the content when it is not JSON', () => {
    const error = thrown(() => parseSecretJson(label, 'hunter2-not-json'));
    expect(error.message).toBe('secret "app/prod/source" is not valid JSON');
    expect(error.cause).toBeUndefined();
    expect(String(error.stack)).not.toContain('hunter2');
  });

  it('rejects JSON that is not an object', () => {
    expect(thrown(() => parseSecretJson(label, '"hunter2"')).message).toBe(
      'secret "app/prod/source" is not a JSON object',
    );
    expect(thrown(() => parseSecretJson(label, '[1]')).message).toBe(
      'secret "app/prod/source" is not a JSON object',
    );
  });
});

describe('readSecretFields', () => {
  it('reads the ancestor layout', () => {
    expect(
      readSecretFields(label, {
        host: 'db.internal',
        port: 5433,
        username: 'app',
        password: 'pw',
        dbname: 'sales',
      }),
    ).toEqual({ host: 'db.internal', port: 5433, user: 'app', password: 'pw', database: 'sales' });
  });

  it('reads the RDS format: engine ignored, dbInstanceIdentifier as the database name', () => {
    expect(
      readSecretFields(label, {
        engine: 'postgres',
        host: 'prod.abc.ap-southeast-2.rds.amazonaws.com',
        port: 5432,
        username: 'postgres',
        password: 'pw',
        dbInstanceIdentifier: 'prod',
      }),
    ).toEqual({
      host: 'prod.abc.ap-southeast-2.rds.amazonaws.com',
      port: 5432,
      user: 'postgres',
      password: 'pw',
      database: 'prod',
    });
  });

  it('reads an RDS-managed master secret (username and password only)', () => {
    expect(readSecretFields(label, { username: 'postgres', password: 'pw' })).toEqual({
      user: 'postgres',
      password: 'pw',
    });
  });

  it('accepts the aliases user and database, and dbname over dbInstanceIdentifier', () => {
    expect(
      readSecretFields(label, { user: 'u', database: 'd', dbInstanceIdentifier: 'x' }),
    ).toEqual({ user: 'u', database: 'd' });
    expect(
      readSecretFields(label, { username: 'a', user: 'b', dbname: 'c', database: 'd' }),
    ).toEqual({ user: 'a', database: 'c' });
  });

  it('accepts the port as a string', () => {
    expect(readSecretFields(label, { port: '6543' })).toEqual({ port: 6543 });
    expect(readSecretFields(label, { port: '' })).toEqual({});
  });

  it('rejects a bad port or a non-string field without printing the value', () => {
    expect(thrown(() => readSecretFields(label, { port: 'abc-secret' })).message).toBe(
      'secret "app/prod/source" field "port" must be a port number (1-65535)',
    );
    expect(thrown(() => readSecretFields(label, { port: 70000 })).message).toBe(
      'secret "app/prod/source" field "port" must be a port number (1-65535)',
    );
    const error = thrown(() => readSecretFields(label, { password: [12345678] }));
    expect(error.message).toBe(
      'secret "app/prod/source" field "password" must be a string (got a list)',
    );
    expect(error.message).not.toContain('12345678');
    const object = thrown(() => readSecretFields(label, { password: { v: 12345678 } }));
    expect(object.message).not.toContain('12345678');
    expect(thrown(() => readSecretFields(label, { user: true })).message).toContain('a boolean');
  });

  it('secret fields of the wrong type: a number is read as its text', () => {
    expect(readSecretFields(label, { password: 83927461, dbname: 42 })).toEqual({
      password: '83927461',
      database: '42',
    });
  });

  it('ignores inherited keys such as toString and __proto__', () => {
    expect(
      readSecretFields(label, JSON.parse('{"__proto__":{"host":"x"}}') as Record<string, unknown>),
    ).toEqual({});
    expect(readSecretFields(label, {})).toEqual({});
  });

  it('reads the ssh field as a key string or { privateKey, passphrase }', () => {
    expect(readSecretFields(label, { ssh: KEY })).toEqual({ ssh: { privateKey: KEY } });
    expect(readSecretFields(label, { ssh: { privateKey: KEY, passphrase: 'pp' } })).toEqual({
      ssh: { privateKey: KEY, passphrase: 'pp' },
    });
  });

  it('turns literal \\n sequences of a pasted key into newlines', () => {
    const pasted = KEY.replace(/\n/g, '\\n');
    expect(readSecretFields(label, { ssh: pasted }).ssh?.privateKey).toBe(KEY);
  });

  it('rejects an ssh field that holds no private key, without printing it', () => {
    const error = thrown(() => readSecretFields(label, { ssh: 'not-a-key-s3cr3t' }));
    expect(error.message).toBe(
      'secret "app/prod/source" field "ssh" is not a private key (expected PEM or OpenSSH: -----BEGIN ... PRIVATE KEY-----)',
    );
    expect(error.message).not.toContain('s3cr3t');
    expect(thrown(() => readSecretFields(label, { ssh: { passphrase: 'x' } })).message).toBe(
      'secret "app/prod/source" field "ssh" has no "privateKey" field',
    );
    expect(thrown(() => readSecretFields(label, { ssh: 42 })).message).toBe(
      'secret "app/prod/source" field "ssh" must be a private key or { privateKey, passphrase }',
    );
  });
});

describe('combinedEntry', () => {
  it('returns the entry, undefined when absent, and rejects a non-object entry', () => {
    const doc = { source: { host: 'h' }, bad: 'x' };
    expect(combinedEntry('secret "app/prod"', doc, 'source')).toEqual({ host: 'h' });
    expect(combinedEntry('secret "app/prod"', doc, 'other')).toBeUndefined();
    expect(combinedEntry('secret "app/prod"', doc, 'toString')).toBeUndefined();
    expect(thrown(() => combinedEntry('secret "app/prod"', doc, 'bad')).message).toBe(
      'secret "app/prod" key "bad" is not a JSON object',
    );
  });
});
