import { present } from '../config/schema-kit.js';
import type { Config, EndpointConfig, SslMode } from '../config/types.js';
import { timeoutsOf } from '../config/timeouts.js';
import type { ConnectionSpec, ResolvedSsh } from '../db/connection-spec.js';
import { ConfigError, SecretError } from '../errors.js';
import { pgEnvFields, type PgEnvFields } from '../libpq/pg-env.js';
import { readService, type ServiceFields } from '../libpq/pg-service.js';
import { readPgpass, type Pgpass } from '../libpq/pgpass.js';
import { readPrivateKeyFile } from '../operator-files.js';
import { isPublicKey } from '../tunnel/private-key.js';
import {
  fetchEndpointSecrets,
  type EndpointSecret,
  type EndpointSecretResult,
} from './fetch-endpoint-secrets.js';
import type { SecretsProvider } from './provider.js';
import { secretLookup, type SecretLookup } from './secret-layouts.js';

export interface ResolvedEndpoints {
  readonly source: ConnectionSpec;
  readonly targets: ReadonlyMap<string, ConnectionSpec>;
}

export interface ResolveDeps {
  /** Resolves `secret:` references; absent when the config has no `secrets` section. */
  readonly secrets?: SecretsProvider | undefined;
  readonly signal?: AbortSignal;
  /**
   * libpq's conventions: PG* variables fill the source's missing fields, and the password file
   * (PGPASSFILE, ~/.pgpass) gives any endpoint without a password one. Absent: neither is read.
   */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined;
}

/** What libpq's environment supplies to one endpoint, below its config and its secret. */
export interface LibpqDefaults {
  /** PG* variables: the source only. */
  readonly env?: PgEnvFields;
  /** The section of pg_service.conf the endpoint names (`service:`; the source also PGSERVICE). */
  readonly service?: ServiceFields;
  readonly pgpass?: Pgpass | undefined;
}

/** The endpoint's SSH settings with the key from keyFile, else from the secret's `ssh` field. */
async function resolveSsh(
  path: string,
  ep: EndpointConfig,
  secret: EndpointSecret | undefined,
): Promise<ResolvedSsh | undefined> {
  if (!ep.ssh) return undefined;
  if (ep.ssh.keyFile !== undefined) {
    const key = `${path}.ssh.keyFile`;
    const privateKey = await readPrivateKeyFile(key, ep.ssh.keyFile);
    if (isPublicKey(privateKey)) {
      throw new ConfigError(
        `${key}: ${ep.ssh.keyFile} is a public key; give the private key (usually the same path without .pub)`,
      );
    }
    return { ...ep.ssh, privateKey };
  }
  const key = secret?.fields.ssh;
  if (key === undefined) {
    throw new ConfigError(`${path}.ssh: needs keyFile (or a secret whose ssh field holds the key)`);
  }
  const passphrase = ep.ssh.passphrase ?? key.passphrase;
  return {
    ...ep.ssh,
    privateKey: key.privateKey,
    ...(passphrase !== undefined ? { passphrase } : {}),
  };
}

/**
 * `db:5433` in a host field would be looked up as a host name (ENOTFOUND): say where the port goes.
 * An IPv6 address has several colons and no port, so only one colon is taken for a port.
 */
function refuseHostWithPort(path: string, host: string, secretLabel: string | undefined): void {
  const match = /^([^:]+):(\d+)$/.exec(host);
  if (!match) return;
  const field = secretLabel === undefined ? `${path}.host` : `${secretLabel} field "host"`;
  const message =
    `${path}: ${field} holds a port ("${match[1] ?? ''}:${match[2] ?? ''}"): ` +
    'give the host name alone, and the port in the port field';
  throw secretLabel === undefined ? new ConfigError(message) : new SecretError(message);
}

type Env = Readonly<Record<string, string | undefined>>;

/** sslmodes that send an IAM token only over TLS (libpq's allow and prefer may fall back to plain text). */
const IAM_SSL_MODES: readonly SslMode[] = ['require', 'verify-ca', 'verify-full'];

/**
 * An `auth: iam` endpoint's sslmode (require when none is given) and region: a token is a password
 * for 15 minutes, so it never travels in plain text.
 */
function iamSettings(
  path: string,
  ep: EndpointConfig,
  sslmodeFromEnv: SslMode | undefined,
  env: Env,
): { sslmode: SslMode; region: string } {
  const sslmode = ep.sslmode ?? sslmodeFromEnv ?? 'require';
  if (!IAM_SSL_MODES.includes(sslmode)) {
    const where = ep.sslmode !== undefined ? `${path}.sslmode` : 'PGSSLMODE';
    throw new ConfigError(
      `${where}: "${sslmode}" with ${path}.auth: iam; an IAM token is sent only over TLS (use require, verify-ca or verify-full)`,
    );
  }
  const region = ep.region ?? nonEmpty(env['AWS_REGION']) ?? nonEmpty(env['AWS_DEFAULT_REGION']);
  if (region === undefined) {
    throw new ConfigError(`${path}.region: is required for auth: iam (or set AWS_REGION)`);
  }
  return { sslmode, region };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === '' ? undefined : value;
}

/** The PG* variable that may fill each field (source only), for the error when none does. */
const PG_VARIABLES = { host: 'PGHOST', database: 'PGDATABASE', user: 'PGUSER' } as const;

/**
 * Builds a ConnectionSpec from the endpoint's own fields and, when given, its secret's fields:
 * config values override secret values field by field, which override its pg_service.conf
 * section, which overrides PG* variables (source only), which override the defaults; a password still missing comes from the password file,
 * matched on the endpoint's real host and port (a tunnel's local port is never the key).
 */
export async function specFromConfig(
  path: string,
  ep: EndpointConfig,
  secret?: EndpointSecret,
  libpq: LibpqDefaults = {},
  env: Env = {},
): Promise<ConnectionSpec> {
  // libpq's order below the config and the secret: the service file, then the environment.
  const pgEnv = { ...libpq.env, ...libpq.service };
  const missing = (key: keyof typeof PG_VARIABLES, secretField: string): never => {
    const orVariable = libpq.env ? ` or ${PG_VARIABLES[key]}` : '';
    if (secret) {
      throw new SecretError(
        `${path}: ${secret.label} has no "${secretField}" field, and ${path}.${key}${orVariable} is not set`,
      );
    }
    const ways = libpq.env
      ? `a url, a secret, a service, or ${PG_VARIABLES[key]}`
      : 'a url, or a secret';
    throw new ConfigError(`${path}.${key}: is required (give it, ${ways})`);
  };
  const fields = secret?.fields ?? {};
  const ssh = await resolveSsh(path, ep, secret);
  const host = ep.host ?? fields.host ?? pgEnv.host ?? missing('host', 'host');
  refuseHostWithPort(path, host, ep.host !== undefined ? undefined : secret?.label);
  const port = ep.port ?? fields.port ?? pgEnv.port ?? 5432;
  const database =
    ep.database ?? fields.database ?? pgEnv.database ?? missing('database', 'dbname');
  const user = ep.user ?? fields.user ?? pgEnv.user ?? missing('user', 'username');
  const password =
    ep.password ??
    fields.password ??
    pgEnv.password ??
    libpq.pgpass?.lookup({ host, port, database, user });
  const passwordSources = [
    `${path}.password`,
    `${path}.url`,
    ...(secret ? [`${secret.label} field "password"`] : []),
    ...(libpq.service ? [`${path}.service`] : []),
    ...(libpq.env ? ['PGPASSWORD'] : []),
    ...(libpq.pgpass ? [libpq.pgpass.where] : []),
  ];
  const sslrootcert = ep.sslrootcert ?? pgEnv.sslrootcert;
  const settings = present({
    sslcert: ep.sslcert ?? pgEnv.sslcert,
    sslkey: ep.sslkey ?? pgEnv.sslkey,
    sslpassword: ep.sslpassword ?? pgEnv.sslpassword,
    connectTimeout: ep.connectTimeout ?? pgEnv.connectTimeout,
    applicationName: ep.applicationName ?? pgEnv.applicationName,
  });
  const iam = ep.auth === 'iam' ? iamSettings(path, ep, pgEnv.sslmode, env) : undefined;
  const sslmode = iam?.sslmode ?? ep.sslmode ?? pgEnv.sslmode ?? 'prefer';
  return {
    name: ep.name,
    host,
    port,
    database,
    user,
    ...(password !== undefined ? { password } : {}),
    passwordSources,
    sslmode,
    ...(sslrootcert !== undefined ? { sslrootcert } : {}),
    ...settings,
    ...(iam ? { auth: 'iam' as const, region: iam.region } : {}),
    ...(ssh ? { ssh } : {}),
    ...(ep.serverAddress ? { serverAddress: ep.serverAddress } : {}),
  };
}

/** A target whose secret could not be had: connecting to it fails with the secret's error. */
function unavailableSpec(ep: EndpointConfig, error: SecretError): ConnectionSpec {
  return {
    name: ep.name,
    host: ep.host ?? '',
    port: ep.port ?? 5432,
    database: ep.database ?? '',
    user: ep.user ?? '',
    sslmode: ep.sslmode ?? 'prefer',
    unavailable: error,
  };
}

/** Resolves every endpoint of the config into connection specs, fetching secrets where referenced. */
export async function resolveEndpoints(
  config: Config,
  deps: ResolveDeps = {},
): Promise<ResolvedEndpoints> {
  const endpoints: { path: string; ep: EndpointConfig }[] = [
    { path: 'source', ep: config.source },
    ...config.targets.map((ep, i) => ({ path: `targets[${i}]`, ep })),
  ];
  const lookups = new Map<string, SecretLookup>();
  for (const { path, ep } of endpoints) {
    const lookup = secretLookup(ep, config.secrets);
    if (lookup === undefined) continue;
    if (!deps.secrets) {
      throw new ConfigError(
        `${path}.secret: no secrets provider configured (add a secrets section)`,
      );
    }
    lookups.set(path, lookup);
  }
  const secrets =
    deps.secrets && lookups.size > 0
      ? await fetchEndpointSecrets(deps.secrets, lookups, deps.signal)
      : new Map<string, EndpointSecretResult>();
  const pgpass = deps.env ? await readPgpass(deps.env) : undefined;
  const sourceEnv = deps.env ? pgEnvFields(deps.env) : undefined;
  const specOf = async (path: string, ep: EndpointConfig): Promise<ConnectionSpec> => {
    const secret = secrets.get(path);
    if (secret instanceof SecretError) throw secret;
    const isSource = path === 'source';
    const serviceName = ep.service ?? (isSource ? deps.env?.['PGSERVICE'] : undefined);
    const service =
      serviceName === undefined || serviceName === ''
        ? undefined
        : await readService(`${path}.service`, serviceName, deps.env ?? {});
    const libpq = {
      pgpass,
      ...(isSource && sourceEnv ? { env: sourceEnv } : {}),
      ...(service ? { service } : {}),
    };
    return specFromConfig(path, ep, secret ?? undefined, libpq, deps.env ?? process.env);
  };
  // Without the source nothing can run; a target whose secret fails only fails its own tables.
  const source = await specOf('source', config.source);
  const targets = new Map<string, ConnectionSpec>();
  for (const [i, t] of config.targets.entries()) {
    try {
      targets.set(t.name, { ...(await specOf(`targets[${i}]`, t)), ...timeoutsOf(config, t.name) });
    } catch (error) {
      if (!(error instanceof SecretError)) throw error;
      targets.set(t.name, unavailableSpec(t, error));
    }
  }
  return { source, targets };
}
