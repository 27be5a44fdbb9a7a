import { ConfigError } from '../errors.js';
import { normalizeFingerprint } from './fingerprint.js';
import { parsePostgresUrl, type UrlParts } from './parse-url.js';
import { collect, optional, Reader } from './reader.js';
import { readSplit } from './split.js';
import { isTablePattern } from './table-pattern.js';
import { whereFilterProblem } from './where-filter.js';
import {
  MODES,
  SECRET_PROVIDERS,
  SNAPSHOT_LOSS_POLICIES,
  SSL_MODES,
  STRATEGIES,
  type Config,
  type EndpointConfig,
  type RunOptions,
  type ServerAddress,
  type SecretsConfig,
  type SshConfig,
  type TableSpec,
  type TargetConfig,
} from './types.js';

const ENDPOINT_KEYS = [
  'url',
  'host',
  'port',
  'database',
  'user',
  'password',
  'secret',
  'secretId',
  'service',
  'schema',
  'sslmode',
  'sslrootcert',
  'ssh',
  'serverAddress',
] as const;

/** PostgreSQL truncates identifiers past 63 bytes; a longer name would silently mean another. */
const MAX_IDENTIFIER_BYTES = 63;

export const DEFAULT_OPTIONS: RunOptions = Object.freeze({
  mode: 'append',
  strategy: 'stream',
  concurrency: 4,
  logDir: 'log',
  createExtensions: false,
  disableTriggers: false,
  retries: 3,
  onSnapshotLoss: 'fail',
});

function identifier(r: Reader, what: string): string {
  const name = r.string(what);
  if (Buffer.byteLength(name) > MAX_IDENTIFIER_BYTES) {
    throw new ConfigError(`${r.path}: "${name}" is longer than ${MAX_IDENTIFIER_BYTES} bytes`);
  }
  return name;
}

function readSecrets(r: Reader): SecretsConfig {
  const keys = r.object([
    'provider',
    'region',
    'prefix',
    'env',
    'endpoint',
    'file',
    'connectTimeout',
    'requestTimeout',
    'timeout',
  ]);
  const provider = keys.get('provider');
  if (!provider?.present)
    throw new ConfigError(
      `${r.path}.provider: is required (one of ${SECRET_PROVIDERS.join(', ')})`,
    );
  const out: { -readonly [K in keyof SecretsConfig]: SecretsConfig[K] } = {
    provider: provider.oneOf(SECRET_PROVIDERS),
  };
  for (const key of ['region', 'prefix', 'env', 'endpoint', 'file'] as const) {
    const value = optional(keys.get(key), (k) => k.string());
    if (value !== undefined) out[key] = value;
  }
  const ms = (key: string): number | undefined =>
    optional(keys.get(key), (k) => k.integer(1, 600_000, 'milliseconds from 1 to 600000'));
  const connectTimeoutMs = ms('connectTimeout');
  if (connectTimeoutMs !== undefined) out.connectTimeoutMs = connectTimeoutMs;
  const requestTimeoutMs = ms('requestTimeout');
  if (requestTimeoutMs !== undefined) out.requestTimeoutMs = requestTimeoutMs;
  const timeoutMs = ms('timeout');
  if (timeoutMs !== undefined) out.timeoutMs = timeoutMs;
  if (out.provider === 'file' && out.file === undefined) {
    throw new ConfigError(`${r.path}.file: is required when provider is "file"`);
  }
  return out;
}

function readSsh(r: Reader): SshConfig {
  const keys = r.object([
    'host',
    'port',
    'user',
    'fingerprint',
    'keyFile',
    'passphrase',
    'readyTimeout',
    'keepaliveInterval',
  ]);
  const required = (key: string): Reader => {
    const child = keys.get(key);
    if (!child?.present) throw new ConfigError(`${r.path}.${key}: is required`);
    return child;
  };
  const fpReader = keys.get('fingerprint');
  if (!fpReader?.present) {
    throw new ConfigError(
      `${r.path}.fingerprint: is required (run "pgcopy fingerprint HOST[:PORT]" and confirm it out of band)`,
    );
  }
  const fpItems = Array.isArray(fpReader.value) ? fpReader.list() : [fpReader];
  if (fpItems.length === 0) fpReader.fail('at least one fingerprint');
  const fingerprints = fpItems.map((item) => {
    const fp = normalizeFingerprint(item.string('a SHA256 fingerprint'));
    return (
      fp ??
      item.fail('a SHA256 fingerprint as ssh-keygen -lf prints it (SHA256:<43 base64 characters>)')
    );
  });
  const ssh: { -readonly [K in keyof SshConfig]: SshConfig[K] } = {
    host: required('host').string('a host name'),
    port: optional(keys.get('port'), (k) => k.integer(1, 65535)) ?? 22,
    user: required('user').string('a user name'),
    fingerprints,
    readyTimeoutMs:
      optional(keys.get('readyTimeout'), (k) =>
        k.integer(1, 600_000, 'milliseconds from 1 to 600000'),
      ) ?? 20_000,
    keepaliveIntervalMs:
      optional(keys.get('keepaliveInterval'), (k) =>
        k.integer(0, 600_000, 'milliseconds from 0 to 600000'),
      ) ?? 10_000,
  };
  const keyFile = optional(keys.get('keyFile'), (k) => k.string('a file path'));
  if (keyFile !== undefined) ssh.keyFile = keyFile;
  const passphrase = optional(keys.get('passphrase'), (k) => k.secretText());
  if (passphrase !== undefined) ssh.passphrase = passphrase;
  return ssh;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** A TLS key given both in the URL and as a key, with different values: the key wins, say so. */
function tlsOverrides(path: string, fromUrl: UrlParts, ep: EndpointConfig): string[] {
  return (['sslmode', 'sslrootcert'] as const).flatMap((key) => {
    const inUrl = fromUrl[key];
    const explicit = ep[key];
    return inUrl !== undefined && explicit !== undefined && inUrl !== explicit
      ? [`${path}.${key}: "${explicit}" overrides ${key}=${inUrl} in ${path}.url`]
      : [];
  });
}

function readEndpoint(
  r: Reader,
  name: string,
  keys: Map<string, Reader>,
  warnings: string[],
): EndpointConfig {
  const ep: Mutable<EndpointConfig> = {
    name,
    schema: optional(keys.get('schema'), (k) => identifier(k, 'a schema name')) ?? 'public',
  };
  const url = keys.get('url');
  let fromUrl: UrlParts = {};
  if (url?.present) {
    const parsed = parsePostgresUrl(url.path, url.string('a postgres:// URL'));
    fromUrl = parsed.parts;
    warnings.push(...parsed.warnings);
    Object.assign(ep, fromUrl);
  }
  const host = optional(keys.get('host'), (k) => k.string('a host name'));
  if (host !== undefined) ep.host = host;
  const port = optional(keys.get('port'), (k) => k.integer(1, 65535));
  if (port !== undefined) ep.port = port;
  for (const key of ['database', 'user', 'secret', 'secretId', 'service', 'sslrootcert'] as const) {
    const value = optional(keys.get(key), (k) => k.string());
    if (value !== undefined) ep[key] = value;
  }
  const passwordReader = keys.get('password');
  if (passwordReader?.present) ep.password = passwordReader.secretText();
  const sslmode = optional(keys.get('sslmode'), (k) => k.oneOf(SSL_MODES));
  if (sslmode !== undefined) ep.sslmode = sslmode;
  const ssh = optional(keys.get('ssh'), readSsh);
  if (ssh !== undefined) ep.ssh = ssh;
  const serverAddress = optional(keys.get('serverAddress'), readServerAddress);
  if (serverAddress !== undefined) ep.serverAddress = serverAddress;
  warnings.push(...tlsOverrides(r.path, fromUrl, ep));
  if (ep.secret !== undefined && ep.secretId !== undefined) {
    throw new ConfigError(`${r.path}: give either secret or secretId, not both`);
  }
  // The source may leave its host to PGHOST (checked when endpoints are resolved).
  const located = [ep.secret, ep.secretId, ep.service, ep.host].some((v) => v !== undefined);
  if (!located && name !== 'source') {
    throw new ConfigError(
      `${r.path}: needs url, host, secret or service to know where the database is`,
    );
  }
  return ep;
}

function readServerAddress(r: Reader): ServerAddress {
  const keys = r.object(['host', 'port', 'sslmode']);
  const host = keys.get('host');
  if (!host?.present) throw new ConfigError(`${r.path}.host: is required`);
  return {
    host: host.string('a host name'),
    port: optional(keys.get('port'), (k) => k.integer(1, 65535)) ?? 5432,
    sslmode: optional(keys.get('sslmode'), (k) => k.oneOf(SSL_MODES)) ?? 'prefer',
  };
}

function readTable(r: Reader): TableSpec {
  if (typeof r.value === 'string' || typeof r.value !== 'object' || r.value === null) {
    const name = identifier(r, 'a table name');
    return { source: name, target: name };
  }
  const keys = r.object(
    ['name', 'target', 'mode', 'where', 'strategy', 'disableTriggers', 'rowSecurity', 'split'],
    'a table name',
  );
  const nameReader = keys.get('name');
  if (!nameReader?.present) throw new ConfigError(`${r.path}.name: is required`);
  const source = identifier(nameReader, 'a table name');
  const spec: Mutable<TableSpec> = {
    source,
    target: optional(keys.get('target'), (k) => identifier(k, 'a table name')) ?? source,
  };
  const mode = optional(keys.get('mode'), (k) => k.oneOf(MODES));
  if (mode !== undefined) spec.mode = mode;
  const strategy = optional(keys.get('strategy'), (k) => k.oneOf(STRATEGIES));
  if (strategy !== undefined) spec.strategy = strategy;
  const where = optional(keys.get('where'), (k) => k.string('an SQL condition'));
  if (where !== undefined) {
    const problem = whereFilterProblem(where);
    if (problem !== undefined) throw new ConfigError(`${r.path}.where: ${problem}`);
    spec.where = where;
  }
  const disableTriggers = optional(keys.get('disableTriggers'), (k) => k.boolean());
  if (disableTriggers !== undefined) spec.disableTriggers = disableTriggers;
  const rowSecurity = optional(keys.get('rowSecurity'), (k) => k.oneOf(['apply'] as const));
  if (rowSecurity !== undefined) spec.rowSecurity = rowSecurity;
  const split = optional(keys.get('split'), readSplit);
  if (split !== undefined) spec.split = split;
  return spec;
}

function readTarget(r: Reader, warnings: string[]): TargetConfig {
  const keys = r.object([
    ...ENDPOINT_KEYS,
    'name',
    'tables',
    'strategy',
    'disableTriggers',
    'lockTimeout',
    'statementTimeout',
    'protected',
    'exclude',
    'split',
  ]);
  const nameReader = keys.get('name');
  if (!nameReader?.present) throw new ConfigError(`${r.path}.name: is required`);
  const name = nameReader.string('a target name');
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) nameReader.fail('a target name of letters, digits, _ . -');
  const tablesReader = keys.get('tables');
  if (!tablesReader?.present) throw new ConfigError(`${r.path}.tables: is required`);
  const items = tablesReader.list('a list of tables');
  if (items.length === 0) tablesReader.fail('at least one table');
  const isPattern = (item: Reader): boolean =>
    typeof item.value === 'string' && isTablePattern(item.value);
  const tablePatterns = items.filter(isPattern).map((item) => item.value as string);
  const tables = items
    .filter((item) => !isPattern(item))
    .flatMap((item) => collect(item, readTable) ?? []);
  const exclude = optional(keys.get('exclude'), (k) =>
    k.list('a list of table names or patterns').map((e) => e.string('a table name or pattern')),
  );
  const seen = new Set<string>();
  tables.forEach((t, i) => {
    if (seen.has(t.target)) {
      throw new ConfigError(
        `${tablesReader.path}[${i}]: target table "${t.target}" is listed twice`,
      );
    }
    seen.add(t.target);
  });
  const strategy = optional(keys.get('strategy'), (k) => k.oneOf(STRATEGIES));
  const disableTriggers = optional(keys.get('disableTriggers'), (k) => k.boolean());
  const lockTimeoutMs = optional(keys.get('lockTimeout'), (k) => k.duration());
  const statementTimeoutMs = optional(keys.get('statementTimeout'), (k) => k.duration());
  const isProtected = optional(keys.get('protected'), (k) => k.boolean());
  const split = optional(keys.get('split'), readSplit);
  return {
    ...readEndpoint(r, name, keys, warnings),
    tables,
    ...(strategy ? { strategy } : {}),
    ...(lockTimeoutMs === undefined ? {} : { lockTimeoutMs }),
    ...(statementTimeoutMs === undefined ? {} : { statementTimeoutMs }),
    ...(disableTriggers === undefined ? {} : { disableTriggers }),
    ...(isProtected === undefined ? {} : { protected: isProtected }),
    ...(tablePatterns.length > 0 ? { tablePatterns } : {}),
    ...(exclude === undefined ? {} : { exclude }),
    ...(split === undefined ? {} : { split }),
  };
}

function readOptions(r: Reader | undefined): RunOptions {
  if (!r?.present) return DEFAULT_OPTIONS;
  const keys = r.object([
    'mode',
    'strategy',
    'concurrency',
    'logDir',
    'createExtensions',
    'disableTriggers',
    'retries',
    'onSnapshotLoss',
    'lockTimeout',
    'statementTimeout',
    'split',
  ]);
  const split = optional(keys.get('split'), readSplit);
  const lockTimeoutMs = optional(keys.get('lockTimeout'), (k) => k.duration());
  const statementTimeoutMs = optional(keys.get('statementTimeout'), (k) => k.duration());
  return {
    mode: optional(keys.get('mode'), (k) => k.oneOf(MODES)) ?? DEFAULT_OPTIONS.mode,
    strategy:
      optional(keys.get('strategy'), (k) => k.oneOf(STRATEGIES)) ?? DEFAULT_OPTIONS.strategy,
    concurrency:
      optional(keys.get('concurrency'), (k) => k.integer(1, 64)) ?? DEFAULT_OPTIONS.concurrency,
    logDir:
      optional(keys.get('logDir'), (k) => k.string('a directory path')) ?? DEFAULT_OPTIONS.logDir,
    createExtensions:
      optional(keys.get('createExtensions'), (k) => k.boolean()) ??
      DEFAULT_OPTIONS.createExtensions,
    disableTriggers:
      optional(keys.get('disableTriggers'), (k) => k.boolean()) ?? DEFAULT_OPTIONS.disableTriggers,
    retries: optional(keys.get('retries'), (k) => k.integer(0, 10)) ?? DEFAULT_OPTIONS.retries,
    onSnapshotLoss:
      optional(keys.get('onSnapshotLoss'), (k) => k.oneOf(SNAPSHOT_LOSS_POLICIES)) ??
      DEFAULT_OPTIONS.onSnapshotLoss,
    ...(lockTimeoutMs === undefined ? {} : { lockTimeoutMs }),
    ...(statementTimeoutMs === undefined ? {} : { statementTimeoutMs }),
    ...(split === undefined ? {} : { split }),
  };
}

/**
 * The problems to show: each once, and without the ones a deeper problem caused (an endpoint whose
 * `host` is invalid also "needs url, host or secret"; its `host` line says what to fix).
 */
function withoutEchoes(problems: readonly string[]): string[] {
  const unique = [...new Set(problems)];
  const pathOf = (p: string): string => p.slice(0, p.indexOf(': '));
  return unique.filter((p) => {
    const path = pathOf(p);
    return (
      path === '' ||
      !unique.some((other) => {
        const deeper = pathOf(other);
        return deeper.startsWith(`${path}.`) || deeper.startsWith(`${path}[`);
      })
    );
  });
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** Validates the raw (already interpolated) configuration into a frozen, fully resolved Config. */
export function validateConfig(raw: unknown): Config {
  const problems: string[] = [];
  const root = new Reader('', raw, problems);
  const keys = root.object(
    ['secrets', 'source', 'targets', 'options'],
    'a mapping with source and targets',
  );
  const warnings: string[] = [];
  const sourceReader = keys.get('source');
  if (!sourceReader?.present) problems.push('source: is required');
  const source =
    sourceReader?.present === true
      ? collect(sourceReader, (r) => readEndpoint(r, 'source', r.object(ENDPOINT_KEYS), warnings))
      : undefined;
  const targetsReader = keys.get('targets');
  if (!targetsReader?.present) problems.push('targets: is required');
  const targetItems = targetsReader?.present
    ? (collect(targetsReader, (r) => {
        const items = r.list('a list of targets');
        if (items.length === 0) r.fail('at least one target');
        return items;
      }) ?? [])
    : [];
  const targets = targetItems.flatMap(
    (item) => collect(item, (r) => readTarget(r, warnings)) ?? [],
  );
  const names = new Set<string>();
  targetItems.forEach((item, i) => {
    const name = (item.value as { name?: unknown } | null)?.name;
    if (typeof name !== 'string') return;
    if (names.has(name))
      problems.push(`targets[${i}].name: "${name}" is used by an earlier target`);
    names.add(name);
  });
  const optionsReader = keys.get('options');
  const options = optionsReader ? collect(optionsReader, readOptions) : readOptions(undefined);
  const secrets = optional(keys.get('secrets'), readSecrets);
  if (problems.length > 0 || !source || !options) throw ConfigError.of(withoutEchoes(problems));
  const config: Mutable<Config> = { source, targets, options };
  if (warnings.length > 0) config.warnings = warnings;
  if (secrets !== undefined) config.secrets = secrets;
  return deepFreeze(config);
}
