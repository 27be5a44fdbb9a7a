import { SSL_MODES, type SslMode } from '../config/types.js';
import { ConfigError } from '../errors.js';

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
}

const TEXT_VARIABLES = [
  ['host', 'PGHOST'],
  ['database', 'PGDATABASE'],
  ['user', 'PGUSER'],
  ['password', 'PGPASSWORD'],
  ['sslrootcert', 'PGSSLROOTCERT'],
] as const;

/**
 * PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD, PGSSLMODE and PGSSLROOTCERT, read as libpq
 * reads them (an empty variable is unset). They fill only the source: a target is named in the
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
  if (port !== undefined) {
    if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
      throw new ConfigError(`PGPORT: expected a port from 1 to 65535, got "${port}"`);
    }
    fields.port = Number(port);
  }
  const sslmode = read('PGSSLMODE');
  if (sslmode !== undefined) {
    if (!(SSL_MODES as readonly string[]).includes(sslmode)) {
      throw new ConfigError(`PGSSLMODE: expected one of ${SSL_MODES.join(', ')}, got "${sslmode}"`);
    }
    fields.sslmode = sslmode as SslMode;
  }
  return fields;
}
