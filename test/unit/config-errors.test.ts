import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { validateConfig } from '../../src/config/validate.js';

const FP = 'SHA256:' + 'A'.repeat(43);
const source = { url: 'postgres://u:p@127.0.0.1:5432/app', schema: 'snapshot' };
const target = { name: 'db_1', host: '127.0.0.1', database: 'app', user: 'u', tables: ['t'] };

function errorOf(raw: unknown, env: Record<string, string> = {}): string {
  try {
    parseConfig(typeof raw === 'string' ? raw : stringify(raw), env, 'pgcopy.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

const cases: [string, unknown, string][] = [
  ['empty file', '', 'pgcopy.yaml: the file is empty'],
  ['not a mapping', '- a\n- b\n', 'config: expected a mapping with source and targets, got a list'],
  [
    'invalid YAML',
    'source: [1,\n',
    'pgcopy.yaml: invalid YAML at line 2, column 1: Flow sequence in block collection must be sufficiently indented and end with a ]',
  ],
  [
    'unknown top-level key',
    { source, targets: [target], extra: 1 },
    'extra: unknown key (expected one of secrets, source, targets, options)',
  ],
  ['missing source', { targets: [target] }, 'source: is required'],
  ['missing targets', { source }, 'targets: is required'],
  ['empty targets', { source, targets: [] }, 'targets: expected at least one target, got a list'],
  [
    'table name a number',
    { source, targets: [target, { ...target, name: 'db_2', tables: ['a', 42] }] },
    'targets[1].tables[0 + 1]: expected a table name, got 42'.replace('0 + 1', '1'),
  ],
  [
    'tables missing',
    { source, targets: [{ ...target, tables: undefined }] },
    'targets[0].tables: is required',
  ],
  [
    'tables empty',
    { source, targets: [{ ...target, tables: [] }] },
    'targets[0].tables: expected at least one table, got a list',
  ],
  [
    'duplicate target name',
    { source, targets: [target, target] },
    'targets[1].name: "db_1" is used by an earlier target',
  ],
  [
    'target without name',
    { source, targets: [{ ...target, name: undefined }] },
    'targets[0].name: is required',
  ],
  [
    'bad target name',
    { source, targets: [{ ...target, name: 'db 1' }] },
    'targets[0].name: expected a target name of letters, digits, _ . -, got "db 1"',
  ],
  [
    'duplicate table',
    { source, targets: [{ ...target, tables: ['t', { name: 'x', target: 't' }] }] },
    'targets[0].tables[1]: target table "t" is listed twice',
  ],
  [
    'bad mode',
    { source, targets: [target], options: { mode: 'merge' } },
    'options.mode: expected one of append, truncate, upsert, insert-new, got "merge"',
  ],
  [
    'bad table mode',
    { source, targets: [{ ...target, tables: [{ name: 't', mode: 'replace' }] }] },
    'targets[0].tables[0].mode: expected one of append, truncate, upsert, insert-new, got "replace"',
  ],
  [
    'a column both excluded and renamed',
    {
      source,
      targets: [
        { ...target, tables: [{ name: 't', columns: { exclude: ['a'], rename: { a: 'b' } } }] },
      ],
    },
    'targets[0].tables[0].columns.rename.a: column "a" is also in exclude',
  ],
  [
    'two columns renamed onto one',
    {
      source,
      targets: [{ ...target, tables: [{ name: 't', columns: { rename: { a: 'c', b: 'c' } } }] }],
    },
    'targets[0].tables[0].columns.rename.b: "c" is already the new name of "a"',
  ],
  [
    'a renamed column name too long',
    {
      source,
      targets: [
        { ...target, tables: [{ name: 't', columns: { rename: { ['é'.repeat(32)]: 'b' } } }] },
      ],
    },
    `targets[0].tables[0].columns.rename.${'é'.repeat(32)}: "${'é'.repeat(32)}" is longer than 63 bytes`,
  ],
  [
    'a rename target too long',
    {
      source,
      targets: [{ ...target, tables: [{ name: 't', columns: { rename: { a: 'x'.repeat(64) } } }] }],
    },
    `targets[0].tables[0].columns.rename.a: "${'x'.repeat(64)}" is longer than 63 bytes`,
  ],
  [
    'rename not a mapping',
    { source, targets: [{ ...target, tables: [{ name: 't', columns: { rename: ['a'] } }] }] },
    'targets[0].tables[0].columns.rename: expected a mapping, got a list',
  ],
  [
    'excluded column not a name',
    { source, targets: [{ ...target, tables: [{ name: 't', columns: { exclude: [42] } }] }] },
    'targets[0].tables[0].columns.exclude[0]: expected a column name, got 42',
  ],
  [
    'unknown columns key',
    { source, targets: [{ ...target, tables: [{ name: 't', columns: { only: ['a'] } }] }] },
    'targets[0].tables[0].columns.only: unknown key (expected one of exclude, rename)',
  ],
  [
    'bad strategy',
    { source, targets: [target], options: { strategy: 'rsync' } },
    'options.strategy: expected one of stream, dblink, fdw, fdw-push, got "rsync"',
  ],
  [
    'concurrency zero',
    { source, targets: [target], options: { concurrency: 0 } },
    'options.concurrency: expected an integer from 1 to 64, got 0',
  ],
  [
    'concurrency text',
    { source, targets: [target], options: { concurrency: 'many' } },
    'options.concurrency: expected an integer from 1 to 64, got "many"',
  ],
  [
    'port out of range',
    { source: { ...source, port: 70000 }, targets: [target] },
    'source.port: expected an integer from 1 to 65535, got 70000',
  ],
  [
    'unknown endpoint key',
    { source: { ...source, hots: 'x' }, targets: [target] },
    'source.hots: unknown key (did you mean host? expected one of url, host, port, database, user, password, secret, secretId, service, schema, sslmode, sslrootcert, sslcert, sslkey, sslpassword, connectTimeout, applicationName, auth, region, ssh, serverAddress)',
  ],
  [
    'no location',
    { source, targets: [{ name: 'db_1', schema: 'x', tables: ['t'] }] },
    'targets[0]: needs url, host, secret or service to know where the database is',
  ],
  [
    'not a postgres URL',
    { source: { url: 'mysql://u:hunter2@h/db' }, targets: [target] },
    'source.url: expected a postgres:// URL, got scheme "mysql"',
  ],
  [
    'unparseable URL keeps the password out',
    { source: { url: 'postgres://u:hunter2@[bad/db' }, targets: [target] },
    'source.url: not a valid postgres:// URL',
  ],
  [
    'bad sslmode in URL',
    { source: { url: 'postgres://h/db?sslmode=always' }, targets: [target] },
    'source.url: sslmode must be one of disable, prefer, require, verify-ca, verify-full, got "always"',
  ],
  [
    'bad sslmode',
    { source: { ...source, sslmode: 'on' }, targets: [target] },
    'source.sslmode: expected one of disable, prefer, require, verify-ca, verify-full, got "on"',
  ],
  [
    'secret and secretId',
    { secrets: { provider: 'env' }, source: { secret: 'a', secretId: 'b' }, targets: [target] },
    'source: give either secret or secretId, not both',
  ],
  [
    'bad secrets provider',
    { secrets: { provider: 'vault' }, source, targets: [target] },
    'secrets.provider: expected one of aws, file, env, got "vault"',
  ],
  [
    'file provider without file',
    { secrets: { provider: 'file' }, source, targets: [target] },
    'secrets.file: is required when provider is "file"',
  ],
  [
    'ssh without fingerprint',
    { source: { ...source, ssh: { host: 'b', user: 'u' } }, targets: [target] },
    'source.ssh.fingerprint: is required (run "pgcopy fingerprint HOST[:PORT]" and confirm it out of band)',
  ],
  [
    'ssh bad fingerprint',
    {
      source: { ...source, ssh: { host: 'b', user: 'u', fingerprint: 'MD5:aa:bb' } },
      targets: [target],
    },
    'source.ssh.fingerprint: expected a SHA256 fingerprint as ssh-keygen -lf prints it (SHA256:<43 base64 characters>), got "MD5:aa:bb"',
  ],
  [
    'ssh bad fingerprint in a list',
    {
      source: { ...source, ssh: { host: 'b', user: 'u', fingerprint: [FP, 'x'] } },
      targets: [target],
    },
    'source.ssh.fingerprint[1]: expected a SHA256 fingerprint as ssh-keygen -lf prints it (SHA256:<43 base64 characters>), got "x"',
  ],
  [
    'ssh without user',
    { source: { ...source, ssh: { host: 'b', fingerprint: FP } }, targets: [target] },
    'source.ssh.user: is required',
  ],
  [
    'unset variable',
    'source:\n  url: postgres://u:${NOPE}@h/db\ntargets: []\n',
    'source.url: environment variable NOPE is not set',
  ],
  [
    'schema too long',
    { source: { ...source, schema: 's'.repeat(64) }, targets: [target] },
    `source.schema: "${'s'.repeat(64)}" is longer than 63 bytes`,
  ],
  [
    'where not a string',
    { source, targets: [{ ...target, tables: [{ name: 't', where: 5 }] }] },
    'targets[0].tables[0].where: expected an SQL condition, got 5',
  ],
  [
    'table entry without name',
    { source, targets: [{ ...target, tables: [{ target: 'x' }] }] },
    'targets[0].tables[0].name: is required',
  ],
  [
    'disableTriggers not a boolean',
    { source, targets: [target], options: { disableTriggers: 'yes' } },
    'options.disableTriggers: expected true or false, got "yes"',
  ],
  [
    'table disableTriggers not a boolean',
    { source, targets: [{ ...target, tables: [{ name: 't', disableTriggers: 1 }] }] },
    'targets[0].tables[0].disableTriggers: expected true or false, got 1',
  ],
  [
    'logDir empty',
    { source, targets: [target], options: { logDir: '' } },
    'options.logDir: expected a directory path, got ""',
  ],
];

describe('invalid configs: each error names the key and what was found', () => {
  it.each(cases)('%s', (_name, raw, message) => {
    expect(errorOf(raw)).toBe(message);
  });

  it('never puts a stack trace or the password into a message', () => {
    for (const [, raw] of cases) {
      const message = errorOf(raw);
      expect(message).not.toMatch(/\n\s+at /);
      expect(message).not.toContain('hunter2');
    }
  });
});

describe('valid configs resolve fully and freeze', () => {
  it('fills every default, parses the URL and keeps per-table overrides', () => {
    const config = parseConfig(
      stringify({
        source: {
          url: 'postgres://me:s%40cret@db.internal:6543/app?sslmode=verify-full&sslrootcert=/ca.pem',
        },
        targets: [
          {
            name: 'db_2',
            url: 'postgres://u@h/t',
            tables: [
              'a',
              { name: 'customer', target: 'customers', mode: 'upsert', where: 'id > 1' },
            ],
          },
        ],
      }),
      {},
    );
    expect(config.source).toEqual({
      name: 'source',
      schema: 'public',
      host: 'db.internal',
      port: 6543,
      database: 'app',
      user: 'me',
      password: 's@cret',
      sslmode: 'verify-full',
      sslrootcert: '/ca.pem',
    });
    expect(config.targets[0]?.tables).toEqual([
      { source: 'a', target: 'a' },
      { source: 'customer', target: 'customers', mode: 'upsert', where: 'id > 1' },
    ]);
    expect(config.options).toEqual({
      mode: 'append',
      strategy: 'stream',
      concurrency: 4,
      logDir: 'log',
      createExtensions: false,
      retries: 3,
      onSnapshotLoss: 'fail',
      disableTriggers: false,
      readOnce: true,
      ledger: true,
      ledgerSchema: 'pgcopy',
      ledgerKeepDays: 30,
      redactValues: false,
    });
    expect(Object.isFrozen(config.targets[0]?.tables[1])).toBe(true);
  });

  it('keeps disableTriggers of the run, of a target and of a table', () => {
    const config = parseConfig(
      stringify({
        source,
        targets: [
          {
            ...target,
            disableTriggers: true,
            tables: ['t', { name: 'u', disableTriggers: false }],
          },
          { ...target, name: 'db_2' },
        ],
        options: { disableTriggers: true },
      }),
      {},
      'pgcopy.yaml',
    );
    expect(config.options.disableTriggers).toBe(true);
    expect(config.targets[0]?.disableTriggers).toBe(true);
    expect(config.targets[0]?.tables[1]?.disableTriggers).toBe(false);
    expect(config.targets[1]).not.toHaveProperty('disableTriggers');
  });

  it('replaces ${VAR} from the environment and accepts JSON', () => {
    const config = parseConfig(
      JSON.stringify({
        source: { host: '${DB_HOST}', database: 'd', user: 'u', password: '${PW}' },
        targets: [target],
      }),
      { DB_HOST: '10.0.0.5', PW: 'pw' },
    );
    expect(config.source.host).toBe('10.0.0.5');
    expect(config.source.password).toBe('pw');
  });

  it('normalises fingerprints with or without the SHA256: prefix and padding', () => {
    const body = 'uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';
    const config = parseConfig(
      stringify({
        source: {
          ...source,
          ssh: { host: 'b', user: 'u', fingerprint: [body + '=', `SHA256:${body}`], keyFile: '/k' },
        },
        targets: [target],
      }),
      {},
    );
    expect(config.source.ssh?.fingerprints).toEqual([`SHA256:${body}`, `SHA256:${body}`]);
    expect(config.source.ssh?.port).toBe(22);
  });
});

describe('durations and retry options', () => {
  it('reads PostgreSQL durations and milliseconds, per run and per target', () => {
    const config = validateConfig({
      source: { host: 'h', database: 'd', user: 'u' },
      targets: [
        { name: 't', host: 'h', database: 'd', user: 'u', tables: ['a'], lockTimeout: '500ms' },
      ],
      options: {
        lockTimeout: '2s',
        statementTimeout: 90000,
        retries: 0,
        onSnapshotLoss: 'reexport',
        readOnce: false,
      },
    });
    expect(config.options).toMatchObject({
      lockTimeoutMs: 2000,
      statementTimeoutMs: 90000,
      retries: 0,
      onSnapshotLoss: 'reexport',
      readOnce: false,
    });
    expect(config.targets[0]?.lockTimeoutMs).toBe(500);
    expect(() =>
      validateConfig({
        source: { host: 'h', database: 'd', user: 'u' },
        targets: [{ name: 't', host: 'h', database: 'd', user: 'u', tables: ['a'] }],
        options: { lockTimeout: 'soon' },
      }),
    ).toThrow(
      'options.lockTimeout: expected a duration such as 500ms, 2s, 5min, 1h, or milliseconds',
    );
  });
});

describe('options.split', () => {
  const endpoint = { host: 'h', database: 'd', user: 'u' };
  it('reads sizes and parts per run, per target and per table, with defaults and false', () => {
    const config = validateConfig({
      source: endpoint,
      targets: [
        {
          name: 't',
          ...endpoint,
          split: { minBytes: '512MB' },
          tables: [
            'a',
            { name: 'b', split: false },
            { name: 'c', split: { parts: 3 } },
            { name: 'd', split: { minBytes: 7 } },
          ],
        },
        { name: 'u', ...endpoint, split: false, tables: ['a'] },
      ],
      options: { split: { minBytes: '1000', parts: 4 } },
    });
    expect(config.options.split).toEqual({ minBytes: 1000, parts: 4 });

    expect(config.targets[0]?.split).toEqual({ minBytes: 512 * 1024 ** 2, parts: 2 });
    expect(config.targets[0]?.tables.map((t) => t.split)).toEqual([
      undefined,
      false,
      { minBytes: 1024 ** 3, parts: 3 },
      { minBytes: 7, parts: 2 },
    ]);
    expect(config.targets[1]?.split).toBe(false);
    const rejected = (split: unknown): unknown =>
      validateConfig({
        source: endpoint,
        targets: [{ name: 't', ...endpoint, tables: ['a'] }],
        options: { split },
      });
    expect(() => rejected({ minBytes: '1 PB' })).toThrow(
      'options.split.minBytes: expected a size such as 512MB, 1GB, or a number of bytes, got "1 PB"',
    );
    expect(() => rejected({ parts: 1 })).toThrow(
      'options.split.parts: expected an integer from 2 to 64',
    );
    expect(() => rejected(true)).toThrow('options.split: expected { minBytes, parts } or false');
  });
});

describe('options.rebuildIndexes', () => {
  const endpoint = { host: 'h', database: 'd', user: 'u' };
  it('reads a size per run, per target and per table, with the default size and false', () => {
    const config = validateConfig({
      source: endpoint,
      targets: [
        {
          name: 't',
          ...endpoint,
          rebuildIndexes: {},
          tables: [
            'a',
            { name: 'b', rebuildIndexes: false },
            { name: 'c', rebuildIndexes: { minBytes: '1kB' } },
          ],
        },
        { name: 'u', ...endpoint, rebuildIndexes: false, tables: ['a'] },
      ],
      options: { rebuildIndexes: { minBytes: 4096 } },
    });
    expect(config.options.rebuildIndexes).toEqual({ minBytes: 4096 });
    expect(config.targets[0]?.rebuildIndexes).toEqual({ minBytes: 256 * 1024 ** 2 });
    expect(config.targets[0]?.tables.map((t) => t.rebuildIndexes)).toEqual([
      undefined,
      false,
      { minBytes: 1024 },
    ]);
    expect(config.targets[1]?.rebuildIndexes).toBe(false);
    const rejected = (rebuildIndexes: unknown): unknown =>
      validateConfig({
        source: endpoint,
        targets: [{ name: 't', ...endpoint, tables: ['a'] }],
        options: { rebuildIndexes },
      });
    expect(() => rejected({ minBytes: '1 PB' })).toThrow(
      'options.rebuildIndexes.minBytes: expected a size such as 512MB, 1GB, or a number of bytes, got "1 PB"',
    );
    expect(() => rejected({ parts: 2 })).toThrow(
      'options.rebuildIndexes.parts: unknown key (expected one of minBytes)',
    );
    expect(() => rejected(true)).toThrow('options.rebuildIndexes: expected { minBytes } or false');
  });
});
