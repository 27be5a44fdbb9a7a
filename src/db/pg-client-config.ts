import type pg from 'pg';
import { ConnectError } from '../errors.js';
import type { ConnectionSpec } from './connection-spec.js';
import { iamPassword, rdsIamToken, type IamTokenSigner } from './iam-token.js';

/** pgcopy's connect timeout when the endpoint sets none (libpq's default is no limit). */
export const DEFAULT_CONNECT_TIMEOUT_SECONDS = 30;

/**
 * connect_timeout in milliseconds as libpq applies it: 0 waits without limit (pg's 0 too), and
 * anything under two seconds counts as two.
 */
export function connectTimeoutMs(seconds: number | undefined): number {
  const value = seconds ?? DEFAULT_CONNECT_TIMEOUT_SECONDS;
  return value <= 0 ? 0 : Math.max(value, 2) * 1000;
}

/**
 * The pg client configuration of one endpoint, every credential decided by pgcopy. node-postgres
 * fills what it is not given from the environment (PGPASSWORD, PGOPTIONS, PGSSLNEGOTIATION, ...)
 * and from ~/.pgpass, matched against the address it dials (a tunnel's 127.0.0.1 port): a password
 * meant for one server would then reach another. So every setting is given here, the password as a
 * function that pg calls only when the server asks for one, and never falls back on its own.
 * pgcopy applies libpq's conventions itself (src/libpq: PG* for the source, the password file for
 * every endpoint, keyed by its real host and port) when it resolves the endpoints.
 */
export function pgClientConfig(
  spec: ConnectionSpec,
  address: { host: string; port: number },
  ssl: pg.ClientConfig['ssl'],
  iamToken: IamTokenSigner = rdsIamToken,
): pg.ClientConfig {
  return {
    host: address.host,
    port: address.port,
    database: spec.database,
    user: spec.user,
    password: spec.auth === 'iam' ? () => iamPassword(spec, iamToken) : () => passwordFor(spec),
    ssl,
    application_name: spec.applicationName ?? 'pgcopy',
    client_encoding: 'utf8',
    keepAlive: true,
    // The whole connect: TCP, TLS handshake, authentication, up to the server's first ReadyForQuery.
    connectionTimeoutMillis: connectTimeoutMs(spec.connectTimeout),
    // A locked table fails its statement after lock_timeout instead of hanging the session.
    ...(spec.lockTimeoutMs !== undefined ? { lock_timeout: spec.lockTimeoutMs } : {}),
    ...(spec.statementTimeoutMs !== undefined
      ? { statement_timeout: spec.statementTimeoutMs }
      : {}),
    // Not in @types/pg: without it pg reads PGSSLNEGOTIATION.
    ...({ sslnegotiation: 'postgres' } as object),
  };
}

/** The settings pg reads from the environment when a value is empty: cleared after construction. */
interface EnvironmentParameters {
  options?: string | undefined;
  replication?: string | boolean | undefined;
}

/**
 * Drops PGOPTIONS and PGREPLICATION, which pg copied from the environment into the client;
 * `startup.options`: pgcopy's own startup options instead (the source's mask key);
 * `startup.replication: 'database'` asks for a logical replication connection (pgcopy sync's slot).
 */
export function withoutEnvironment<C extends pg.Client>(
  client: C,
  startup: { options?: string; replication?: 'database' } = {},
): C {
  const params = (client as unknown as { connectionParameters: EnvironmentParameters })
    .connectionParameters;
  params.options = startup.options;
  params.replication = startup.replication;
  (client as unknown as EnvironmentParameters).replication = startup.replication;
  return client;
}

/** The endpoint's password, or a ConnectError saying where pgcopy looked for one. */
export function passwordFor(spec: ConnectionSpec): string {
  if (spec.password !== undefined) return spec.password;
  const where = spec.passwordSources?.join(', ') ?? `${spec.name}.password`;
  throw new ConnectError(
    spec.name,
    `no password for endpoint ${spec.name} (the server asks for one; looked in: ${where}); ` +
      'give one there or in the password file (PGPASSFILE, ~/.pgpass)',
  );
}
