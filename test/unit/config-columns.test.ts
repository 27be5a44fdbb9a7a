import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/validate.js';
import { ConfigError } from '../../src/errors.js';

const source = { host: 'h' };
const target = { name: 'db_1', host: 'h', tables: ['t'] };

function problemsOf(raw: unknown): string[] {
  try {
    validateConfig(raw);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  throw new Error('expected a ConfigError');
}

function withTable(table: unknown): unknown {
  return { source, targets: [{ ...target, tables: [table] }] };
}

describe('mode insert-new and columns: { exclude, rename } validate', () => {
  it('accepts insert-new as the run mode and a table mode', () => {
    const config = validateConfig({
      source,
      targets: [{ ...target, tables: [{ name: 't', mode: 'insert-new' }] }],
      options: { mode: 'insert-new' },
    });
    expect(config.options.mode).toBe('insert-new');
    expect(config.targets[0]?.tables[0]?.mode).toBe('insert-new');
  });

  it('keeps columns.exclude and columns.rename of a table object', () => {
    const config = validateConfig(
      withTable({ name: 't', columns: { exclude: ['secret'], rename: { fullname: 'name' } } }),
    );
    expect(config.targets[0]?.tables[0]).toEqual({
      source: 't',
      target: 't',
      columns: { exclude: ['secret'], rename: { fullname: 'name' } },
    });
    expect(validateConfig(withTable({ name: 't', columns: {} })).targets[0]?.tables[0]).toEqual({
      source: 't',
      target: 't',
      columns: {},
    });
  });

  it('a column both excluded and renamed, or two renames onto one name, is an error naming the key', () => {
    expect(
      problemsOf(
        withTable({ name: 't', columns: { exclude: ['a'], rename: { a: 'x', b: 'y', c: 'y' } } }),
      ),
    ).toEqual([
      'targets[0].tables[0].columns.rename.a: column "a" is also in exclude',
      'targets[0].tables[0].columns.rename.c: "y" is already the new name of "b"',
    ]);
  });

  it('column names are identifiers: at most 63 bytes, non-blank strings, known keys only', () => {
    const long = 'c'.repeat(64);
    expect(
      problemsOf(
        withTable({
          name: 't',
          columns: { exclude: [long, 5], rename: { [long]: 'x', ok: '' }, drop: ['z'] },
        }),
      ).sort(),
    ).toEqual(
      [
        `targets[0].tables[0].columns.exclude[0]: "${long}" is longer than 63 bytes`,
        'targets[0].tables[0].columns.exclude[1]: expected a column name, got 5',
        'targets[0].tables[0].columns.rename.ok: expected a column name, got ""',
        'targets[0].tables[0].columns.drop: unknown key (expected one of exclude, rename)',
      ].sort(),
    );
    expect(problemsOf(withTable({ name: 't', columns: { rename: { [long]: 'x' } } }))).toEqual([
      `targets[0].tables[0].columns.rename.${long}: "${long}" is longer than 63 bytes`,
    ]);
    expect(problemsOf(withTable({ name: 't', columns: { rename: ['a'] } }))).toEqual([
      'targets[0].tables[0].columns.rename: expected a mapping, got a list',
    ]);
  });
});

describe('the schema reports what the hand-written reader did, and a little more', () => {
  it('a key with no value (YAML `port:`) counts as absent; a required one is still required', () => {
    const config = validateConfig({
      secrets: null,
      source: { host: 'h', port: null, ssh: null },
      targets: [{ ...target, exclude: null, tables: [{ name: 't', mode: null }] }],
      options: null,
    });
    expect(config.source).toEqual({ name: 'source', schema: 'public', host: 'h' });
    expect(config.options.mode).toBe('append');
    expect(problemsOf({ source, targets: [{ ...target, name: null }] })).toEqual([
      'targets[0].name: expected a target name, got null',
    ]);
  });

  it('digits in a string are a number (from ${VAR}); a duration in words is milliseconds', () => {
    const config = validateConfig({
      source: { host: 'h', port: '6543' },
      targets: [{ ...target, statementTimeout: '5min', lockTimeout: '250', strategy: 'dblink' }],
      secrets: { provider: 'aws', connectTimeout: '1000', timeout: 2000, requestTimeout: 1500 },
      options: { concurrency: '8' },
    });
    expect(config.source.port).toBe(6543);
    expect(config.targets[0]).toMatchObject({
      statementTimeoutMs: 300_000,
      lockTimeoutMs: 250,
      strategy: 'dblink',
    });
    expect(config.secrets).toEqual({
      provider: 'aws',
      connectTimeoutMs: 1000,
      requestTimeoutMs: 1500,
      timeoutMs: 2000,
    });
    expect(config.options.concurrency).toBe(8);
  });

  it('a password of the wrong type is named by type, never shown', () => {
    expect(
      problemsOf({
        source: { host: 'h', password: true, ssh: { host: 'b', user: 'u', fingerprint: 5 } },
        targets: [
          { ...target, password: '' },
          { ...target, name: 'db_2', password: { a: 1 } },
        ],
      }).sort(),
    ).toEqual(
      [
        'source.password: expected a string, got a boolean (value not shown)',
        'source.ssh.fingerprint: expected a SHA256 fingerprint, got 5',
        'targets[0].password: expected a string, got an empty string (value not shown)',
        'targets[1].password: expected a string, got an object (value not shown)',
      ].sort(),
    );
  });

  it('a table pattern keeps its place apart from names; a long table name is refused', () => {
    const config = validateConfig({ source, targets: [{ ...target, tables: ['orders_*', 'a'] }] });
    expect(config.targets[0]).toMatchObject({
      tables: [{ source: 'a', target: 'a' }],
      tablePatterns: ['orders_*'],
    });
    expect(problemsOf({ source, targets: [{ ...target, tables: ['t'.repeat(64)] }] })).toEqual([
      `targets[0].tables[0]: "${'t'.repeat(64)}" is longer than 63 bytes`,
    ]);
  });

  it('ssh: an empty fingerprint list, defaults filled in, a passphrase as a number', () => {
    const fp = `SHA256:${'A'.repeat(43)}`;
    expect(
      problemsOf({
        source: { host: 'h', ssh: { host: 'b', user: 'u', fingerprint: [] } },
        targets: [target],
      }),
    ).toEqual(['source.ssh.fingerprint: expected at least one fingerprint, got a list']);
    const config = validateConfig({
      source: { host: 'h', ssh: { host: 'b', user: 'u', fingerprint: fp, passphrase: 1234 } },
      targets: [target],
    });
    expect(config.source.ssh).toEqual({
      host: 'b',
      port: 22,
      user: 'u',
      fingerprints: [fp],
      readyTimeoutMs: 20_000,
      keepaliveIntervalMs: 10_000,
      passphrase: '1234',
    });
  });
});

describe('bug: a custom check hid the other problems of a config', () => {
  it('fingerprint, secret/secretId, where, duplicates, location and file provider: all at once', () => {
    expect(
      problemsOf({
        secrets: { provider: 'file', region: 5 },
        source: {
          secret: 'a',
          secretId: 'b',
          ssh: { host: 'b', user: 'u', fingerprint: 'MD5:aa' },
        },
        targets: [
          { ...target, tables: ['t', { name: 'u', target: 't', where: 'true; DROP TABLE t' }] },
          { name: 'db_1', tables: ['t'], sslmod: 'disable' },
        ],
      }).sort(),
    ).toEqual(
      [
        'secrets.file: is required when provider is "file"',
        'secrets.region: expected a string, got 5',
        'source: give either secret or secretId, not both',
        'source.ssh.fingerprint: expected a SHA256 fingerprint as ssh-keygen -lf prints it (SHA256:<43 base64 characters>), got "MD5:aa"',
        'targets[0].tables[1].where: contains ";": a filter is one condition, not statements',
        'targets[1]: needs url, host, secret or service to know where the database is',
        'targets[1].name: "db_1" is used by an earlier target',
        'targets[1].sslmod: unknown key (did you mean sslmode? expected one of url, host, port, database, user, password, secret, secretId, service, schema, sslmode, sslrootcert, sslcert, sslkey, sslpassword, connectTimeout, applicationName, auth, region, ssh, serverAddress, name, tables, strategy, disableTriggers, lockTimeout, statementTimeout, protected, exclude, split, rebuildIndexes, acknowledge, dataRules)',
      ].sort(),
    );
  });
});
