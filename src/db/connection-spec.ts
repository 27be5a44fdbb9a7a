import type { AuthMethod, ServerAddress, SshConfig, SslMode } from '../config/types.js';

/** The SSH settings of an endpoint with its private key resolved (from a secret or keyFile). */
export interface ResolvedSsh extends SshConfig {
  readonly privateKey?: string;
}

/** Everything needed to open connections to one endpoint, secrets resolved. */
export interface ConnectionSpec {
  /** `source` or the target's name: used in messages, never the password. */
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly password?: string;
  /** Where a password was looked for (`source.password`, `secret "a/b"`), for the error without one. */
  readonly passwordSources?: readonly string[];
  readonly sslmode: SslMode;
  readonly sslrootcert?: string;
  /** Client certificate and key files, and the key's passphrase (never printed). */
  readonly sslcert?: string;
  readonly sslkey?: string;
  readonly sslpassword?: string;
  /** libpq's connect_timeout in seconds (0: no limit); absent: 30. */
  readonly connectTimeout?: number;
  /** application_name of every session (default pgcopy). */
  readonly applicationName?: string;
  /** `iam`: each connection's password is a new RDS IAM token for this host, port and user. */
  readonly auth?: AuthMethod;
  /** The region an IAM token is signed for. */
  readonly region?: string;
  readonly ssh?: ResolvedSsh;
  /** How other servers reach this one (server-side strategies); default: host and port. */
  readonly serverAddress?: ServerAddress;
  /** A target's lock_timeout and statement_timeout, set on every session it opens (ms). */
  readonly lockTimeoutMs?: number;
  readonly statementTimeoutMs?: number;
  /**
   * The source's derived mask key (hex, see masking/mask-key.ts), given to every session at
   * connection time as a setting for the data rules to read; never printed.
   */
  readonly maskKey?: string;
  /** Its secret could not be had: every connection attempt fails with this error. */
  readonly unavailable?: Error;
}

/** `name (user@host:port/database)`, safe to print: no password, no key. */
export function describeSpec(spec: ConnectionSpec): string {
  if (spec.unavailable) return `${spec.name} (connection details unavailable: see its error)`;
  const via = spec.ssh ? ` via ssh ${spec.ssh.user}@${spec.ssh.host}:${spec.ssh.port}` : '';
  return `${spec.name} (${spec.user}@${spec.host}:${spec.port}/${spec.database}${via})`;
}
