/**
 * The fully resolved configuration: every default filled in, frozen after validation. schema.ts
 * produces these shapes (its transforms are typed by them) from the config as written.
 */

export const MODES = ['append', 'truncate', 'upsert', 'insert-new'] as const;
export type Mode = (typeof MODES)[number];

export const STRATEGIES = ['stream', 'dblink', 'fdw', 'fdw-push'] as const;
export type Strategy = (typeof STRATEGIES)[number];

/** The built-in masks of a `dataRules` entry (docs/data-rules.md). */
export const MASK_KINDS = [
  'email',
  'phone',
  'letter',
  'int',
  'date',
  'time',
  'ip',
  'partial',
  'hash',
] as const;
export type MaskKind = (typeof MASK_KINDS)[number];

/**
 * What a `dataRules` entry writes in place of a column's value, computed on the source:
 * NULL, a fixed value, an SQL expression over the source row, or a built-in mask.
 */
export type DataRule =
  | { readonly kind: 'null' }
  | { readonly kind: 'value'; readonly value: string }
  | { readonly kind: 'expression'; readonly expression: string }
  | {
      readonly kind: 'mask';
      readonly mask: MaskKind;
      /** `partial`: the characters kept at the start and at the end (default 0 and 4). */
      readonly first?: number;
      readonly last?: number;
    };

/** `dataRules`: a column name or pattern (`email`, `users.email`, `encrypted_*`) to its rule. */
export type DataRules = Readonly<Record<string, DataRule>>;

/** Where the key of the keyed masks comes from: never the config file itself. */
export type MaskKeySource = { readonly env: string } | { readonly secret: string };

export const SSL_MODES = ['disable', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

/** How pgcopy logs in: the password (from the config, a secret, ~/.pgpass...) or an RDS IAM token. */
export const AUTH_METHODS = ['password', 'iam'] as const;
export type AuthMethod = (typeof AUTH_METHODS)[number];

export const SECRET_PROVIDERS = ['aws', 'file', 'env'] as const;
export type SecretProviderName = (typeof SECRET_PROVIDERS)[number];

export interface SecretsConfig {
  readonly provider: SecretProviderName;
  readonly region?: string;
  readonly prefix?: string;
  readonly env?: string;
  /** Custom Secrets Manager endpoint (otherwise the SDK's own resolution). */
  readonly endpoint?: string;
  /** The JSON file of the `file` provider. */
  readonly file?: string;
  /** aws: ms to open a connection to Secrets Manager (default 5000). */
  readonly connectTimeoutMs?: number;
  /** aws: ms one request may wait for an answer (default 10000); timed-out requests are retried. */
  readonly requestTimeoutMs?: number;
  /** aws: ms for all the calls of a fetch, retries included (default 30000). */
  readonly timeoutMs?: number;
}

export interface SshConfig {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** Accepted host-key fingerprints, normalised to `SHA256:<base64 without padding>`. */
  readonly fingerprints: readonly string[];
  readonly keyFile?: string;
  readonly passphrase?: string;
  readonly readyTimeoutMs: number;
  readonly keepaliveIntervalMs: number;
}

/**
 * How the other PostgreSQL server reaches this one in the server-side strategies (dblink, fdw):
 * it may differ from the address pgcopy uses (an SSH tunnel, a local port forward).
 */
export interface ServerAddress {
  readonly host: string;
  readonly port: number;
  /** libpq sslmode of the server-to-server connection; default `prefer`. */
  readonly sslmode: SslMode;
}

/** Where a database is and how to log in; any field may still come from a secret. */
export interface EndpointConfig {
  /** `source`, or the target's name. */
  readonly name: string;
  readonly host?: string;
  readonly port?: number;
  readonly database?: string;
  readonly user?: string;
  readonly password?: string;
  /** A secret name, resolved as `<prefix>/<env>/<name>` or a key of the combined secret. */
  readonly secret?: string;
  /** A full secret id or ARN, used as it is. */
  readonly secretId?: string;
  /** A section of pg_service.conf (PGSERVICEFILE, ~/.pg_service.conf), read as libpq reads it. */
  readonly service?: string;
  readonly schema: string;
  readonly sslmode?: SslMode;
  readonly sslrootcert?: string;
  /** The client certificate (PEM file) offered to the server, and its private key's file. */
  readonly sslcert?: string;
  readonly sslkey?: string;
  /** The passphrase of an encrypted sslkey: a secret, never printed. */
  readonly sslpassword?: string;
  /** libpq's connect_timeout: whole seconds (0: no limit; 1 counts as 2); absent: 30. */
  readonly connectTimeout?: number;
  /** application_name of the sessions (default pgcopy), seen in pg_stat_activity. */
  readonly applicationName?: string;
  /** `iam`: the password is an RDS IAM token made with the AWS credentials of the run. */
  readonly auth?: AuthMethod;
  /** The AWS region of an `auth: iam` database (default AWS_REGION). */
  readonly region?: string;
  readonly ssh?: SshConfig;
  /** The address other servers use for this one (dblink, fdw); default: host and port. */
  readonly serverAddress?: ServerAddress;
}

export interface TableSpec {
  /** Table name in the source schema. */
  readonly source: string;
  /** Table name in the target schema (defaults to the source name). */
  readonly target: string;
  /** Per-table mode; when absent the run's mode applies. */
  readonly mode?: Mode;
  /** Optional filter on the source rows (SQL, written by the operator). */
  readonly where?: string;
  /** Per-table strategy; the most specific of table, target and options wins. */
  readonly strategy?: Strategy;
  /** Per-table disableTriggers; when absent the target's, else the run's applies. */
  readonly disableTriggers?: boolean;
  /**
   * `apply`: copy only the rows the source's row-level security policies let the role see.
   * Without it, a source table whose policies apply to the role is a plan error.
   */
  readonly rowSecurity?: 'apply';
  /** Source columns left out or copied under another name. */
  readonly columns?: ColumnsSpec;
  /** Per-table options.split (`false`: never split this table). */
  readonly split?: SplitSetting;
  /** Per-table options.rebuildIndexes (`false`: keep this table's indexes during its load). */
  readonly rebuildIndexes?: RebuildIndexesSetting;
  /** Warning codes that do not make this table "done with warnings" (docs/warnings.md). */
  readonly acknowledge?: readonly string[];
  /** This table's data rules: they override the target's and the run's for the same column. */
  readonly dataRules?: DataRules;
}

export interface ColumnsSpec {
  /** Source columns not copied. */
  readonly exclude?: readonly string[];
  /** Source column name to target column name. */
  readonly rename?: Readonly<Record<string, string>>;
}

export interface TargetConfig extends EndpointConfig {
  readonly tables: readonly TableSpec[];
  /** Glob entries of `tables` (`orders_*`, `*`): expanded against the source schema at plan time. */
  readonly tablePatterns?: readonly string[];
  /** Names or globs that patterns never select. */
  readonly exclude?: readonly string[];
  /** Strategy of this target's tables, unless a table names its own. */
  readonly strategy?: Strategy;
  /** Overrides options.lockTimeout / options.statementTimeout for this target, in milliseconds. */
  readonly lockTimeoutMs?: number;
  readonly statementTimeoutMs?: number;
  /** Per-target disableTriggers; when absent the run's applies. */
  readonly disableTriggers?: boolean;
  /** `truncate` mode here needs `--allow-truncate NAME` on the command line. */
  readonly protected?: boolean;
  /** Per-target options.split (`false`: never split this target's tables). */
  readonly split?: SplitSetting;
  /** Per-target options.rebuildIndexes (`false`: keep this target's indexes during loads). */
  readonly rebuildIndexes?: RebuildIndexesSetting;
  /** Warning codes, or `CODE:table`, that do not make this target's tables "done with warnings". */
  readonly acknowledge?: readonly string[];
  /** This target's data rules: they override the run's for the same column. */
  readonly dataRules?: DataRules;
}

/** Copy a big table in parts, each on its own connection, committed together. */
export interface SplitConfig {
  /** Tables whose estimated size is at least this many bytes are split. */
  readonly minBytes: number;
  /** Parts of a split table (each takes one of the run's concurrency slots). */
  readonly parts: number;
}

/** A level's split setting: `false` turns off what a level above set. */
export type SplitSetting = SplitConfig | false;

/** Drop a big table's secondary indexes for its load and create them again before its COMMIT. */
export interface RebuildIndexesConfig {
  /** Tables whose estimated size is at least this many bytes have their indexes rebuilt. */
  readonly minBytes: number;
}

/** A level's rebuildIndexes setting: `false` turns off what a level above set (or the default). */
export type RebuildIndexesSetting = RebuildIndexesConfig | false;

export interface RunOptions {
  readonly mode: Mode;
  readonly strategy: Strategy;
  readonly concurrency: number;
  readonly logDir: string;
  /** Create a missing dblink/postgres_fdw extension (when the role may) instead of a plan error. */
  readonly createExtensions: boolean;
  /**
   * Load with the target's user triggers (and foreign-key checks) off, for pgcopy's own
   * transaction only: `SET LOCAL session_replication_role = replica`.
   */
  readonly disableTriggers: boolean;
  /** Attempts after the first for a table that failed for a transient reason (0: none). */
  readonly retries: number;
  /** When the snapshot's coordinator connection is lost: fail the remaining tables, or re-export. */
  readonly onSnapshotLoss: SnapshotLossPolicy;
  /** A source table that several targets take is read once and streamed into each of them. */
  readonly readOnce: boolean;
  /** Keep a ledger on each target (false: none is made, read or written). */
  readonly ledger: boolean;
  /** The targets' schema of the ledger (what each run id committed), made on first use. */
  readonly ledgerSchema: string;
  /** Ledger rows older than this many days are removed at the start of a run. */
  readonly ledgerKeepDays: number;
  /** lock_timeout of the target sessions, in milliseconds (absent: the server's). */
  readonly lockTimeoutMs?: number;
  /** statement_timeout of the target sessions, in milliseconds (absent: none). */
  readonly statementTimeoutMs?: number;
  /** Same-table parallelism for big tables (absent: every table in one stream). */
  readonly split?: SplitSetting;
  /** Index rebuild for big tables (absent: 256MB tables and up, in truncate mode only). */
  readonly rebuildIndexes?: RebuildIndexesSetting;
  /** Warning codes, or `CODE:table`, that do not make any table "done with warnings". */
  readonly acknowledge?: readonly string[];
  /** The run's data rules (docs/data-rules.md): masked or replaced on the source. */
  readonly dataRules?: DataRules;
  /** The key of the keyed masks: an environment variable or a secret. */
  readonly maskKey?: MaskKeySource;
  /**
   * Row values are left out of every message (errors, audit log, events); also on whenever a
   * data rule is configured.
   */
  readonly redactValues: boolean;
  /** `pgcopy sync`: its slot, publications and limits (absent: the defaults, see src/sync/names.ts). */
  readonly sync?: SyncConfig;
}

/** `options.sync`: how `pgcopy sync` follows the source after the first copy. */
export interface SyncConfig {
  /** The logical replication slot's name (default `pgcopy_<hash of source and targets>`). */
  readonly slot?: string;
  /** The publication's name (default the slot's); insert-only tables are in `<name>_insert_only`. */
  readonly publication?: string;
  /** Source tables followed insert-only: updates and deletes are neither published nor applied. */
  readonly insertOnly: readonly string[];
  /** A slot holding more WAL than this many bytes is a warning in check and sync. */
  readonly maxSlotWalBytes: number;
}

export const SNAPSHOT_LOSS_POLICIES = ['fail', 'reexport'] as const;
export type SnapshotLossPolicy = (typeof SNAPSHOT_LOSS_POLICIES)[number];

export interface Config {
  /** Things the config says that are probably not meant (a TLS setting given twice), for stderr. */
  readonly warnings?: readonly string[];
  readonly secrets?: SecretsConfig;
  readonly source: EndpointConfig;
  readonly targets: readonly TargetConfig[];
  readonly options: RunOptions;
}
