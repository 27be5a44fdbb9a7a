import { describe, expect, it } from 'vitest';
import { cliWithConfig } from '../support/cli.js';

describe('bug: config errors were reported one at a time', () => {
  it('a config with several mistakes prints every one with its key path, and exits 2', async () => {
    const result = await cliWithConfig('plan', {
      source: { host: 'db.internal', port: 70000 },
      targets: [
        { name: 'db_1', host: 'h', tables: [42, { name: 't', mode: 'merge' }] },
        { name: 'db_1', host: 'h', sslmod: 'disable', tables: ['t'] },
      ],
      options: { concurrency: 0 },
      targts: [],
    });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.split('\n').filter(Boolean).sort()).toEqual(
      [
        'pgcopy: targts: unknown key (did you mean targets? expected one of secrets, source, targets, options)',
        'pgcopy: source.port: expected an integer from 1 to 65535, got 70000',
        'pgcopy: targets[0].tables[0]: expected a table name, got 42',
        'pgcopy: targets[0].tables[1].mode: expected one of append, truncate, upsert, insert-new, got "merge"',
        'pgcopy: targets[1].sslmod: unknown key (did you mean sslmode? expected one of url, host, port, database, user, password, secret, secretId, service, schema, sslmode, sslrootcert, sslcert, sslkey, sslpassword, connectTimeout, applicationName, auth, region, ssh, serverAddress, name, tables, strategy, disableTriggers, lockTimeout, statementTimeout, protected, exclude, split, rebuildIndexes, acknowledge, dataRules)',
        'pgcopy: targets[1].name: "db_1" is used by an earlier target',
        'pgcopy: options.concurrency: expected an integer from 1 to 64, got 0',
      ].sort(),
    );
  });

  it('a problem is not echoed by the one it causes: an invalid host is not also a missing one', async () => {
    const result = await cliWithConfig('plan', {
      source: { host: 'h' },
      targets: [{ name: 'db_1', host: 42, tables: ['t'] }],
    });
    expect(result).toMatchObject({
      code: 2,
      stderr: 'pgcopy: targets[0].host: expected a host name, got 42\n',
    });
  });
});
