import * as z from 'zod';
import { ConfigError } from '../errors.js';
import type { Assert, Same } from '../type-checks.js';
import { normalizeFingerprint } from './fingerprint.js';
import { parsePostgresUrl } from './parse-url.js';
import {
  choice,
  closed,
  duration,
  expected,
  flag,
  identifier,
  integer,
  list,
  milliseconds,
  present,
  problem,
  secretText,
  text,
  tooLong,
  tooLongMessage,
} from './schema-kit.js';
import { WARNING_CODES } from '../report/warning-codes.js';
import { closest } from './closest.js';
import { REBUILD_INDEXES_SETTING, SPLIT_SETTING, size } from './split.js';
import { isTablePattern } from './table-pattern.js';
import { whereFilterProblem } from './where-filter.js';
import { DATA_RULES, MASK_KEY, keyedRuleKeys } from './data-rules.js';
import {
  AUTH_METHODS,
  MODES,
  SECRET_PROVIDERS,
  SNAPSHOT_LOSS_POLICIES,
  SSL_MODES,
  STRATEGIES,
  type ColumnsSpec,
  type EndpointConfig,
  type RunOptions,
  type SecretsConfig,
  type ServerAddress,
  type SshConfig,
  type SyncConfig,
  type TableSpec,
  type TargetConfig,
} from './types.js';

/**
 * The one schema of a pgcopy config: zod validates it (every problem at once, see issues.ts), its
 * transforms produce the resolved shapes of types.ts (each transform is typed by its interface, so
 * that the two cannot drift), and `npm run schema` writes pgcopy.schema.json from it.
 * `.nullish()`: a key written with no value (`port:` or `port: ~`) is as good as absent.
 */

const sslmode = choice(SSL_MODES).describe('TLS mode (default prefer).');
const port = integer(1, 65535);

const postgresUrl = text('a postgres:// URL')
  .superRefine((url, ctx) => {
    try {
      parsePostgresUrl('', url);
    } catch (error) {
      // parsePostgresUrl throws only ConfigErrors, whose messages never show the URL.
      problem(ctx, (error as ConfigError).message);
    }
  })
  .describe(
    'postgres://user:password@host:port/database?sslmode=...; also sslrootcert, sslcert, sslkey, sslpassword, connect_timeout, application_name.',
  );

/**
 * `acknowledge`: warning codes (docs/warnings.md) that no longer make a table "done with
 * warnings"; at run and target level `CODE:table` limits one to a table (its target name).
 */
function acknowledgeList(withTable: boolean) {
  const entry = text('a warning code').superRefine((value, ctx) => {
    const [code = '', table] = value.split(':', 2);
    if (table !== undefined && !withTable) {
      problem(ctx, `"${value}": a table's acknowledge lists codes only (no :table)`);
      return;
    }
    if (table === '') problem(ctx, `"${value}": expected CODE or CODE:table`);
    if (!WARNING_CODES.includes(code)) {
      const near = closest(code, WARNING_CODES);
      problem(
        ctx,
        `unknown warning code "${code}"${near === undefined ? '' : ` (did you mean ${near}?)`}; the codes are listed in docs/warnings.md`,
      );
    }
  });
  return list(entry, withTable ? 'a list of CODE or CODE:table' : 'a list of warning codes')
    .nullish()
    .describe(
      withTable
        ? 'Warning codes (CODE, or CODE:table) that do not make a table done with warnings.'
        : 'Warning codes that do not make this table done with warnings.',
    );
}

const FINGERPRINT_FORMAT =
  'a SHA256 fingerprint as ssh-keygen -lf prints it (SHA256:<43 base64 characters>)';
const fingerprintItem = text('a SHA256 fingerprint').transform((value, ctx) => {
  const fingerprint = normalizeFingerprint(value);
  if (fingerprint !== undefined) return fingerprint;
  problem(ctx, expected(FINGERPRINT_FORMAT)({ input: value }));
  return z.NEVER;
});

const ssh = closed({
  host: text('a host name').describe('Bastion host.'),
  port: port.nullish().describe('Bastion port (default 22).'),
  user: text('a user name').describe('Bastion user.'),
  fingerprint: z
    .union(
      [
        fingerprintItem,
        z.array(fingerprintItem).min(1, { error: expected('at least one fingerprint') }),
      ],
      {
        // A string or a list reports its own problem (issues.ts): this is for anything else.
        error: expected(
          'a SHA256 fingerprint',
          'is required (run "pgcopy fingerprint HOST[:PORT]" and confirm it out of band)',
        ),
      },
    )
    .describe('SHA256:... host key fingerprint(s), from pgcopy fingerprint HOST.'),
  keyFile: text('a file path').nullish().describe('Private key file.'),
  passphrase: secretText().nullish().describe("The key's passphrase."),
  readyTimeout: milliseconds(1, 600_000)
    .nullish()
    .describe('Milliseconds to log in (default 20000).'),
  keepaliveInterval: milliseconds(0, 600_000)
    .nullish()
    .describe('Milliseconds between keepalives (default 10000).'),
})
  .transform((v): SshConfig => ({
    host: v.host,
    port: v.port ?? 22,
    user: v.user,
    fingerprints: typeof v.fingerprint === 'string' ? [v.fingerprint] : v.fingerprint,
    readyTimeoutMs: v.readyTimeout ?? 20_000,
    keepaliveIntervalMs: v.keepaliveInterval ?? 10_000,
    ...present({ keyFile: v.keyFile, passphrase: v.passphrase }),
  }))
  .meta({ id: 'ssh', title: 'SSH tunnel' });

const serverAddress = closed({
  host: text('a host name').describe('Host other servers use for this one.'),
  port: port.nullish().describe('Port (default 5432).'),
  sslmode: sslmode.nullish(),
})
  .transform((v): ServerAddress => ({
    host: v.host,
    port: v.port ?? 5432,
    sslmode: v.sslmode ?? 'prefer',
  }))
  .meta({ id: 'serverAddress', title: 'Address other servers use (dblink, fdw)' });

/** Where a database is and how to log in; the keys of `source` and of every target. */
const ENDPOINT = {
  url: postgresUrl.nullish(),
  host: text('a host name').nullish().describe('Host name or address (no port).'),
  port: port.nullish().describe('Port (default 5432).'),
  database: text().nullish().describe('Database name.'),
  user: text().nullish().describe('User name.'),
  password: secretText().nullish().describe('Password; better ${VAR}, a secret, or ~/.pgpass.'),
  secret: text().nullish().describe('A secret name, resolved as <prefix>/<env>/<name>.'),
  secretId: text().nullish().describe('A full secret id or ARN.'),
  service: text().nullish().describe('A section of pg_service.conf.'),
  schema: identifier('a schema name').nullish().describe('Schema (default public).'),
  sslmode: sslmode.nullish(),
  sslrootcert: text().nullish().describe('CA bundle file for verify-ca / verify-full.'),
  sslcert: text('a file path').nullish().describe('Client certificate file (PEM), with sslkey.'),
  sslkey: text('a file path').nullish().describe("The client certificate's private key file."),
  sslpassword: secretText().nullish().describe('Passphrase of an encrypted sslkey.'),
  connectTimeout: integer(0, 86_400, 'whole seconds from 0 to 86400')
    .nullish()
    .describe('Seconds to wait for a connection, as connect_timeout (0: no limit; default 30).'),
  applicationName: text()
    .max(63, { error: expected('at most 63 characters') })
    .nullish()
    .describe('application_name of the sessions (default pgcopy).'),
  auth: choice(AUTH_METHODS)
    .nullish()
    .describe('password (default), or iam: an RDS IAM token (needs sslmode require or stronger).'),
  region: text('an AWS region')
    .nullish()
    .describe('AWS region of an auth: iam database (default AWS_REGION).'),
  ssh: ssh.nullish(),
  serverAddress: serverAddress.nullish(),
};

/** The endpoint keys as written, before resolve-endpoint.ts merges the URL into them. */
export type EndpointFields = z.output<z.ZodObject<typeof ENDPOINT>>;

interface EndpointLike {
  readonly secret?: unknown;
  readonly secretId?: unknown;
  readonly service?: unknown;
  readonly host?: unknown;
  readonly url?: unknown;
}

/** A key written with a value (even an invalid one, which has its own problem line). */
function given(value: unknown): boolean {
  return value !== undefined && value !== null;
}

/** Checks of an endpoint as a whole; they run even when a key failed, to report everything. */
function checkEndpoint(v: unknown, ctx: z.RefinementCtx, needsLocation: boolean): void {
  // With `when: always` the value is whatever was written, not necessarily an object.
  if (typeof v !== 'object' || v === null) return;
  const e = v as EndpointLike;
  if (given(e.secret) && given(e.secretId)) {
    problem(ctx, 'give either secret or secretId, not both');
  }
  // The source may leave its host to PGHOST (checked when endpoints are resolved).
  if (needsLocation && ![e.secret, e.secretId, e.service, e.host, e.url].some(given)) {
    problem(ctx, 'needs url, host, secret or service to know where the database is');
  }
}
/** Runs a check even when the value failed elsewhere, so that its problem is reported too. */
const always = { when: () => true };

const source = closed(ENDPOINT)
  .superRefine((v, ctx) => checkEndpoint(v, ctx, false), always)
  .meta({ id: 'endpoint', title: 'Database' });

const columns = closed({
  exclude: list(identifier('a column name'), 'a list of column names')
    .nullish()
    .describe('Source columns not copied.'),
  rename: z
    .record(z.string(), identifier('a column name'), { error: expected('a mapping') })
    .nullish()
    .describe('Source column name: target column name.'),
})
  .superRefine((v, ctx) => {
    const renames = Object.entries(v.rename ?? {});
    const excluded = new Set(v.exclude ?? []);
    const onto = new Map<string, string>();
    for (const [from, to] of renames) {
      if (tooLong(from)) problem(ctx, tooLongMessage(from), ['rename', from]);
      if (excluded.has(from)) {
        problem(ctx, `column "${from}" is also in exclude`, ['rename', from]);
      }
      const earlier = onto.get(to);
      if (earlier !== undefined) {
        problem(ctx, `"${to}" is already the new name of "${earlier}"`, ['rename', from]);
      }
      onto.set(to, from);
    }
  })
  .transform((v): ColumnsSpec => present({ exclude: v.exclude, rename: v.rename }))
  .meta({ id: 'columns', title: 'Columns: which are left out, which get another name' });

const tableObject = closed(
  {
    name: identifier('a table name').describe('Source table.'),
    target: identifier('a table name').nullish().describe('Target table, when its name differs.'),
    mode: choice(MODES).nullish().describe('Write mode for this table.'),
    where: text('an SQL condition')
      .superRefine((where, ctx) => {
        const why = whereFilterProblem(where);
        if (why !== undefined) problem(ctx, why);
      })
      .nullish()
      .describe('One SQL condition on the source rows.'),
    strategy: choice(STRATEGIES).nullish().describe('How this table is copied.'),
    disableTriggers: flag().nullish().describe("Load with the target's user triggers off."),
    rowSecurity: choice(['apply'])
      .nullish()
      .describe("Copy only the rows the source's policies let the role see."),
    columns: columns.nullish(),
    split: SPLIT_SETTING.nullish(),
    rebuildIndexes: REBUILD_INDEXES_SETTING.nullish(),
    acknowledge: acknowledgeList(false),
    dataRules: DATA_RULES.nullish(),
  },
  'a table name',
)
  .transform((v): TableSpec => ({
    source: v.name,
    target: v.target ?? v.name,
    ...present({
      mode: v.mode,
      where: v.where,
      strategy: v.strategy,
      disableTriggers: v.disableTriggers,
      rowSecurity: v.rowSecurity,
      columns: v.columns,
      split: v.split,
      rebuildIndexes: v.rebuildIndexes,
      acknowledge: v.acknowledge,
      dataRules: v.dataRules,
    }),
  }))
  .meta({ id: 'table', title: 'Table' });

/** A glob entry of `tables`, expanded against the source schema at plan time. */
interface TablePattern {
  readonly pattern: string;
}

const tableName = text('a table name')
  .transform((name, ctx): TableSpec | TablePattern => {
    if (isTablePattern(name)) return { pattern: name };
    if (tooLong(name)) {
      problem(ctx, tooLongMessage(name));
      return z.NEVER;
    }
    return { source: name, target: name };
  })
  .describe('A table name or a glob pattern (orders_*, *).');

const tables = list(
  z.union([tableName, tableObject], { error: expected('a table name') }),
  'a list of tables',
  'table',
)
  .superRefine((entries, ctx) => {
    const seen = new Set<string>();
    entries.forEach((entry, i) => {
      if ('pattern' in entry) return;
      if (seen.has(entry.target)) {
        problem(ctx, `target table "${entry.target}" is listed twice`, [i]);
      }
      seen.add(entry.target);
    });
  })
  .describe('Table names, patterns (orders_*, *) or table objects.');

const target = closed({
  ...ENDPOINT,
  name: text('a target name')
    .regex(/^[A-Za-z0-9_.-]+$/, { error: expected('a target name of letters, digits, _ . -') })
    .describe('Unique name.'),
  tables,
  strategy: choice(STRATEGIES).nullish().describe("How this target's tables are copied."),
  disableTriggers: flag().nullish().describe("Load with the target's user triggers off."),
  lockTimeout: duration().nullish().describe('lock_timeout of the target sessions.'),
  statementTimeout: duration().nullish().describe('statement_timeout of the target sessions.'),
  protected: flag().nullish().describe('truncate mode here needs --allow-truncate NAME.'),
  exclude: list(text('a table name or pattern'), 'a list of table names or patterns')
    .nullish()
    .describe('Table names or patterns that patterns never select.'),
  split: SPLIT_SETTING.nullish(),
  rebuildIndexes: REBUILD_INDEXES_SETTING.nullish(),
  acknowledge: acknowledgeList(true),
  dataRules: DATA_RULES.nullish(),
})
  .superRefine((v, ctx) => checkEndpoint(v, ctx, true), always)
  .meta({ id: 'target', title: 'Target database' });

/** A target as written, its tables split from its patterns: resolve-endpoint.ts finishes it. */
export type TargetFields = z.output<typeof target>;

const secrets = closed({
  provider: choice(SECRET_PROVIDERS).describe('Where secrets come from.'),
  region: text().nullish().describe('AWS region.'),
  prefix: text().nullish().describe('Secret id prefix.'),
  env: text().nullish().describe('Environment part of the secret id.'),
  endpoint: text().nullish().describe('Secrets Manager endpoint URL.'),
  file: text().nullish().describe('JSON file of secrets (provider file).'),
  connectTimeout: milliseconds(1, 600_000)
    .nullish()
    .describe('Milliseconds to connect (default 5000).'),
  requestTimeout: milliseconds(1, 600_000)
    .nullish()
    .describe('Milliseconds per request (default 10000).'),
  timeout: milliseconds(1, 600_000)
    .nullish()
    .describe('Milliseconds for a whole fetch (default 30000).'),
})
  .superRefine((v: { provider?: unknown; file?: unknown }, ctx) => {
    if (v.provider === 'file' && !given(v.file)) {
      problem(ctx, 'is required when provider is "file"', ['file']);
    }
  }, always)
  .transform((v): SecretsConfig => ({
    provider: v.provider,
    ...present({
      region: v.region,
      prefix: v.prefix,
      env: v.env,
      endpoint: v.endpoint,
      file: v.file,
      connectTimeoutMs: v.connectTimeout,
      requestTimeoutMs: v.requestTimeout,
      timeoutMs: v.timeout,
    }),
  }))
  .meta({ id: 'secrets', title: 'Secrets provider' });

/** options.sync.maxSlotWal when not given: a slot holding more WAL than this is a warning. */
export const DEFAULT_MAX_SLOT_WAL_BYTES = 1024 ** 3;

/** A replication slot's name as PostgreSQL allows it, with room for the `_insert_only` suffix. */
const slotName = text('a slot name')
  .regex(/^[a-z0-9_]{1,50}$/, {
    error: expected('a slot name of lower-case letters, digits and _ (at most 50)'),
  })
  .describe('Replication slot name (default pgcopy_<hash of source and targets>).');

const sync = closed({
  slot: slotName.nullish(),
  publication: slotName
    .nullish()
    .describe('Publication name (default the slot name); insert-only tables: <name>_insert_only.'),
  insertOnly: list(identifier('a table name'), 'a list of source table names')
    .nullish()
    .describe(
      'Source tables without a key or replica identity followed insert-only: their updates and deletes are not carried.',
    ),
  maxSlotWal: size()
    .nullish()
    .describe('A slot holding more WAL than this is a warning in check and sync (default 1GB).'),
})
  .transform((v): SyncConfig => ({
    insertOnly: v.insertOnly ?? [],
    maxSlotWalBytes: v.maxSlotWal ?? DEFAULT_MAX_SLOT_WAL_BYTES,
    ...present({ slot: v.slot, publication: v.publication }),
  }))
  .meta({ id: 'sync', title: 'pgcopy sync: slot, publications, limits' });

export const DEFAULT_OPTIONS: RunOptions = Object.freeze({
  mode: 'append',
  strategy: 'stream',
  concurrency: 4,
  logDir: 'log',
  createExtensions: false,
  disableTriggers: false,
  retries: 3,
  onSnapshotLoss: 'fail',
  readOnce: true,
  ledger: true,
  ledgerSchema: 'pgcopy',
  ledgerKeepDays: 30,
  redactValues: false,
});

const options = closed({
  mode: choice(MODES).nullish().describe('Default write mode (default append).'),
  strategy: choice(STRATEGIES).nullish().describe('Default strategy (default stream).'),
  concurrency: integer(1, 64)
    .nullish()
    .describe('(target, table) pairs copied at once (default 4).'),
  logDir: text('a directory path').nullish().describe('Audit log directory (default log).'),
  createExtensions: flag().nullish().describe('Create the extensions a strategy needs.'),
  disableTriggers: flag().nullish().describe("Load with the targets' user triggers off."),
  retries: integer(0, 10).nullish().describe('Attempts after a transient failure (default 3).'),
  onSnapshotLoss: choice(SNAPSHOT_LOSS_POLICIES)
    .nullish()
    .describe('When the snapshot connection is lost (default fail).'),
  lockTimeout: duration().nullish().describe('lock_timeout of the target sessions.'),
  statementTimeout: duration().nullish().describe('statement_timeout of the target sessions.'),
  split: SPLIT_SETTING.nullish(),
  rebuildIndexes: REBUILD_INDEXES_SETTING.nullish(),
  readOnce: flag()
    .nullish()
    .describe('Read a table several targets take once for all of them (default true).'),
  ledger: flag()
    .nullish()
    .describe(
      'Record what each run committed in a ledger on each target, so that a re-run under the same run id is exactly once (default true).',
    ),
  ledgerSchema: identifier('a schema name')
    .nullish()
    .describe("The targets' schema of pgcopy's ledger: what each run committed (default pgcopy)."),
  ledgerKeepDays: integer(1, 36500)
    .nullish()
    .describe('Days a ledger row is kept; older ones are removed when a run starts (default 30).'),
  acknowledge: acknowledgeList(true),
  dataRules: DATA_RULES.nullish(),
  maskKey: MASK_KEY.nullish().describe(
    'Key of the keyed masks: { env: VAR } or { secret: NAME }, never the key itself.',
  ),
  redactValues: flag()
    .nullish()
    .describe(
      'Leave row values out of every message (on whenever a data rule is configured; default false).',
    ),
  sync: sync.nullish(),
})
  .transform((v): RunOptions => ({
    mode: v.mode ?? DEFAULT_OPTIONS.mode,
    strategy: v.strategy ?? DEFAULT_OPTIONS.strategy,
    concurrency: v.concurrency ?? DEFAULT_OPTIONS.concurrency,
    logDir: v.logDir ?? DEFAULT_OPTIONS.logDir,
    createExtensions: v.createExtensions ?? DEFAULT_OPTIONS.createExtensions,
    disableTriggers: v.disableTriggers ?? DEFAULT_OPTIONS.disableTriggers,
    retries: v.retries ?? DEFAULT_OPTIONS.retries,
    onSnapshotLoss: v.onSnapshotLoss ?? DEFAULT_OPTIONS.onSnapshotLoss,
    readOnce: v.readOnce ?? DEFAULT_OPTIONS.readOnce,
    ledger: v.ledger ?? DEFAULT_OPTIONS.ledger,
    ledgerSchema: v.ledgerSchema ?? DEFAULT_OPTIONS.ledgerSchema,
    ledgerKeepDays: v.ledgerKeepDays ?? DEFAULT_OPTIONS.ledgerKeepDays,
    redactValues: v.redactValues ?? DEFAULT_OPTIONS.redactValues,
    ...present({
      dataRules: v.dataRules,
      maskKey: v.maskKey,
      lockTimeoutMs: v.lockTimeout,
      statementTimeoutMs: v.statementTimeout,
      split: v.split,
      rebuildIndexes: v.rebuildIndexes,
      acknowledge: v.acknowledge,
      sync: v.sync,
    }),
  }))
  .meta({ id: 'options', title: 'Run options' });

const targets = list(target, 'a list of targets', 'target').superRefine((items, ctx) => {
  const names = new Set<string>();
  // Runs even when the list or a target failed: every duplicate is reported with the rest.
  if (!Array.isArray(items)) return;
  items.forEach((item: unknown, i) => {
    const name = (item as { name?: unknown } | null)?.name;
    if (typeof name !== 'string') return;
    if (names.has(name)) problem(ctx, `"${name}" is used by an earlier target`, [i, 'name']);
    names.add(name);
  });
}, always);

/** The config as parsed: still to be resolved into a Config (see validate.ts). */
export const configSchema = closed(
  {
    secrets: secrets.nullish(),
    source,
    targets,
    options: options.nullish(),
  },
  'a mapping with source and targets',
)
  .superRefine((v, ctx) => {
    // Keyed masks need the key: said once, naming the rules that need it.
    if (v.options?.maskKey !== undefined) return;
    const keyed = [
      ...keyedRuleKeys(v.options?.dataRules, 'options'),
      ...v.targets.flatMap((t, i) => [
        ...keyedRuleKeys(t.dataRules, `targets[${i}]`),
        ...t.tables.flatMap((table, j) =>
          'pattern' in table ? [] : keyedRuleKeys(table.dataRules, `targets[${i}].tables[${j}]`),
        ),
      ]),
    ];
    if (keyed.length > 0) {
      problem(
        ctx,
        `is required by the keyed rule${keyed.length > 1 ? 's' : ''} ${keyed.slice(0, 3).join(', ')}${keyed.length > 3 ? ', ...' : ''}: give { env: VAR } or { secret: NAME }`,
        ['options', 'maskKey'],
      );
    }
  })
  .meta({ title: 'pgcopy configuration' });

/** What a pgcopy config may contain, as TypeScript (for configs written in code). */
export type ConfigInput = z.input<typeof configSchema>;
export type ParsedConfig = z.output<typeof configSchema>;

/**
 * The transforms above are typed by the interfaces of types.ts, so what they produce fits them; these
 * checks add that no key is forgotten on either side: each resolved shape has exactly the keys
 * written in the config, with the renames listed (`lockTimeout` is resolved as `lockTimeoutMs`...).
 */
type Keys<S extends z.ZodType> = keyof z.input<S>;
type Renamed<K, From extends string, To extends string> = Exclude<K, From> | To;
type Timeouts<K> = Renamed<
  Renamed<K, 'lockTimeout', 'lockTimeoutMs'>,
  'statementTimeout',
  'statementTimeoutMs'
>;
type EndpointKeys = Renamed<keyof typeof ENDPOINT, 'url', 'name'>;
export type ConfigTypesMatch = [
  Assert<Same<keyof TableSpec, Renamed<Keys<typeof tableObject>, 'name', 'source'>>>,
  Assert<Same<keyof ColumnsSpec, Keys<typeof columns>>>,
  Assert<Same<keyof RunOptions, Timeouts<Keys<typeof options>>>>,
  Assert<
    Same<
      keyof SecretsConfig,
      Renamed<
        Renamed<
          Renamed<Keys<typeof secrets>, 'connectTimeout', 'connectTimeoutMs'>,
          'requestTimeout',
          'requestTimeoutMs'
        >,
        'timeout',
        'timeoutMs'
      >
    >
  >,
  Assert<
    Same<
      keyof SshConfig,
      Renamed<
        Renamed<
          Renamed<Keys<typeof ssh>, 'fingerprint', 'fingerprints'>,
          'readyTimeout',
          'readyTimeoutMs'
        >,
        'keepaliveInterval',
        'keepaliveIntervalMs'
      >
    >
  >,
  Assert<Same<keyof ServerAddress, Keys<typeof serverAddress>>>,
  Assert<Same<keyof SyncConfig, Renamed<Keys<typeof sync>, 'maxSlotWal', 'maxSlotWalBytes'>>>,
  Assert<Same<keyof EndpointConfig, EndpointKeys>>,
  Assert<Same<keyof TargetConfig, Renamed<Timeouts<Keys<typeof target>>, 'url', 'tablePatterns'>>>,
];
