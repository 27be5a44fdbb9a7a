import type { SslMode } from '../config/types.js';
import { libpqConnectTimeout, libpqPort, libpqSslmode } from './values.js';

type Env = Readonly<Record<string, string | undefined>>;

/** The source fields libpq's environment variables may fill; each absent when its variable is. */
export interface PgEnvFields {
  readonly host?: string;
  readonly port?: number;
  readonly database?: string;
  readonly user?: string;
  readonly password?: string;
  readonly sslmode?: SslMode;
  readonly sslrootcert?: string;
  readonly sslcert?: string;
  readonly sslkey?: string;
  /** Only from pg_service.conf: libpq has no variable for it. */
  readonly sslpassword?: string;
  readonly connectTimeout?: number;
  readonly applicationName?: string;
}

const TEXT_VARIABLES = [
  ['host', 'PGHOST'],
  ['database', 'PGDATABASE'],
  ['user', 'PGUSER'],
  ['password', 'PGPASSWORD'],
  ['sslrootcert', 'PGSSLROOTCERT'],
  ['sslcert', 'PGSSLCERT'],
  ['sslkey', 'PGSSLKEY'],
  ['applicationName', 'PGAPPNAME'],
] as const;

/**
 * PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD, PGSSLMODE, PGSSLROOTCERT, PGSSLCERT, PGSSLKEY,
 * PGCONNECT_TIMEOUT and PGAPPNAME, read as libpq reads them (an empty variable is unset). They fill only the source: a target is named in the
 * config, and a password meant for the psql default server must not reach another one.
 */
export function pgEnvFields(env: Env): PgEnvFields {
  const read = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value === '' ? undefined : value;
  };
  const fields: { -readonly [K in keyof PgEnvFields]: PgEnvFields[K] } = {};
  for (const [key, name] of TEXT_VARIABLES) {
    const value = read(name);
    if (value !== undefined) fields[key] = value;
  }
  const port = read('PGPORT');
  if (port !== undefined) fields.port = libpqPort('PGPORT', port);
  const connectTimeout = read('PGCONNECT_TIMEOUT');
  if (connectTimeout !== undefined) {
    fields.connectTimeout = libpqConnectTimeout('PGCONNECT_TIMEOUT', connectTimeout);
  }
  const sslmode = read('PGSSLMODE');
  if (sslmode !== undefined) fields.sslmode = libpqSslmode('PGSSLMODE', sslmode);
  return fields;
}
