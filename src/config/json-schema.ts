import { MODES, SECRET_PROVIDERS, SNAPSHOT_LOSS_POLICIES, SSL_MODES, STRATEGIES } from './types.js';

/**
 * The JSON Schema of a pgcopy config (draft 2020-12), for editors (yaml-language-server): keys,
 * types and choices. `pgcopy.schema.json` is written from it by `npm run schema`; a test keeps
 * both in step with what src/config/validate.ts accepts. Validation itself stays in validate.ts,
 * which also checks what a schema cannot say (fingerprint format, where filters, key paths).
 */
const text = (description: string): object => ({ type: 'string', minLength: 1, description });
const integer = (minimum: number, maximum: number, description: string): object => ({
  type: 'integer',
  minimum,
  maximum,
  description,
});
const choice = (values: readonly string[], description: string): object => ({
  enum: [...values],
  description,
});
const boolean = (description: string): object => ({ type: 'boolean', description });
const duration = (description: string): object => ({
  description: `${description} A duration such as 500ms, 2s, 5min, 1h, 1d, or milliseconds.`,
  oneOf: [
    { type: 'integer', minimum: 0 },
    { type: 'string', pattern: '^\\s*\\d+\\s*(ms|s|min|h|d)?\\s*$' },
  ],
});
const closed = (properties: Record<string, object>, required: string[] = []): object => ({
  type: 'object',
  additionalProperties: false,
  properties,
  ...(required.length > 0 ? { required } : {}),
});
const ref = (name: string): object => ({ $ref: `#/$defs/${name}` });
const split = (description: string): object => ({
  description,
  oneOf: [{ const: false }, ref('split')],
});

const ENDPOINT = {
  url: text('postgres://user:password@host:port/database?sslmode=...&sslrootcert=...'),
  host: text('Host name or address (no port).'),
  port: integer(1, 65535, 'Port (default 5432).'),
  database: text('Database name.'),
  user: text('User name.'),
  password: {
    description: 'Password; better ${VAR}, a secret, or ~/.pgpass.',
    type: ['string', 'number'],
  },
  secret: text('A secret name, resolved as <prefix>/<env>/<name>.'),
  secretId: text('A full secret id or ARN.'),
  service: text('A section of pg_service.conf.'),
  schema: text('Schema (default public).'),
  sslmode: choice(SSL_MODES, 'TLS mode (default prefer).'),
  sslrootcert: text('CA bundle file for verify-ca / verify-full.'),
  ssh: ref('ssh'),
  serverAddress: ref('serverAddress'),
};

const TABLE = closed(
  {
    name: text('Source table.'),
    target: text('Target table, when its name differs.'),
    mode: choice(MODES, 'Write mode for this table.'),
    where: text('One SQL condition on the source rows.'),
    strategy: choice(STRATEGIES, 'How this table is copied.'),
    disableTriggers: boolean("Load with the target's user triggers off."),
    rowSecurity: choice(['apply'], "Copy only the rows the source's policies let the role see."),
    split: split('Split this table (false: never).'),
  },
  ['name'],
);

export const CONFIG_JSON_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'pgcopy configuration',
  ...closed(
    {
      secrets: ref('secrets'),
      source: ref('endpoint'),
      targets: { type: 'array', minItems: 1, items: ref('target') },
      options: ref('options'),
    },
    ['source', 'targets'],
  ),
  $defs: {
    endpoint: closed(ENDPOINT),
    table: TABLE,
    target: closed(
      {
        ...ENDPOINT,
        name: { type: 'string', pattern: '^[A-Za-z0-9_.-]+$', description: 'Unique name.' },
        tables: {
          type: 'array',
          minItems: 1,
          description: 'Table names, patterns (orders_*, *) or table objects.',
          items: { oneOf: [text('A table name or a glob pattern.'), ref('table')] },
        },
        strategy: choice(STRATEGIES, "How this target's tables are copied."),
        disableTriggers: boolean("Load with the target's user triggers off."),
        lockTimeout: duration('lock_timeout of the target sessions.'),
        statementTimeout: duration('statement_timeout of the target sessions.'),
        protected: boolean('truncate mode here needs --allow-truncate NAME.'),
        exclude: { type: 'array', items: text('A table name or pattern patterns never select.') },
        split: split("Split this target's big tables (false: never)."),
      },
      ['name', 'tables'],
    ),
    ssh: closed(
      {
        host: text('Bastion host.'),
        port: integer(1, 65535, 'Bastion port (default 22).'),
        user: text('Bastion user.'),
        fingerprint: {
          description: 'SHA256:... host key fingerprint(s), from pgcopy fingerprint HOST.',
          oneOf: [{ type: 'string' }, { type: 'array', minItems: 1, items: { type: 'string' } }],
        },
        keyFile: text('Private key file.'),
        passphrase: { type: ['string', 'number'], description: "The key's passphrase." },
        readyTimeout: integer(1, 600_000, 'Milliseconds to log in (default 20000).'),
        keepaliveInterval: integer(0, 600_000, 'Milliseconds between keepalives (default 10000).'),
      },
      ['host', 'user', 'fingerprint'],
    ),
    serverAddress: closed(
      {
        host: text('Host other servers use for this one.'),
        port: integer(1, 65535, 'Port (default 5432).'),
        sslmode: choice(SSL_MODES, 'TLS mode (default prefer).'),
      },
      ['host'],
    ),
    secrets: closed(
      {
        provider: choice(SECRET_PROVIDERS, 'Where secrets come from.'),
        region: text('AWS region.'),
        prefix: text('Secret id prefix.'),
        env: text('Environment part of the secret id.'),
        endpoint: text('Secrets Manager endpoint URL.'),
        file: text('JSON file of secrets (provider file).'),
        connectTimeout: integer(1, 600_000, 'Milliseconds to connect (default 5000).'),
        requestTimeout: integer(1, 600_000, 'Milliseconds per request (default 10000).'),
        timeout: integer(1, 600_000, 'Milliseconds for a whole fetch (default 30000).'),
      },
      ['provider'],
    ),
    options: closed({
      mode: choice(MODES, 'Default write mode (default append).'),
      strategy: choice(STRATEGIES, 'Default strategy (default stream).'),
      concurrency: integer(1, 64, '(target, table) pairs copied at once.'),
      logDir: text('Audit log directory (default log).'),
      createExtensions: boolean('Create the extensions a strategy needs.'),
      disableTriggers: boolean("Load with the targets' user triggers off."),
      retries: integer(0, 10, 'Attempts after a transient failure.'),
      onSnapshotLoss: choice(SNAPSHOT_LOSS_POLICIES, 'When the snapshot connection is lost.'),
      lockTimeout: duration('lock_timeout of the target sessions.'),
      statementTimeout: duration('statement_timeout of the target sessions.'),
      split: split('Copy big tables in parts, committed together.'),
    }),
    split: closed({
      minBytes: {
        description: 'Split tables of at least this size (default 1GB).',
        oneOf: [
          { type: 'integer', minimum: 0 },
          { type: 'string', pattern: '^\\s*\\d+\\s*(B|kB|MB|GB|TB)?\\s*$' },
        ],
      },
      parts: integer(2, 64, 'Parts of a split table (default 2).'),
    }),
  },
} as const;

/** The schema file's text, as `npm run schema` writes it. */
export function configJsonSchemaText(): string {
  return JSON.stringify(CONFIG_JSON_SCHEMA, null, 2) + '\n';
}
