import { SSL_MODES, type SslMode } from '../config/types.js';
import { ConfigError } from '../errors.js';

/** A port as libpq's settings write it; `where` names the setting in the error. */
export function libpqPort(where: string, value: string): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) < 1 || Number(value) > 65535) {
    throw new ConfigError(`${where}: expected a port from 1 to 65535, got "${value}"`);
  }
  return Number(value);
}

/** An sslmode pgcopy supports (libpq's `allow` is not one); `where` names the setting. */
export function libpqSslmode(where: string, value: string): SslMode {
  if (!(SSL_MODES as readonly string[]).includes(value)) {
    throw new ConfigError(`${where}: expected one of ${SSL_MODES.join(', ')}, got "${value}"`);
  }
  return value as SslMode;
}

/**
 * connect_timeout as libpq reads it: whole seconds, where zero or less waits without limit. The
 * value is kept as written; connectTimeoutMs applies libpq's two-second minimum.
 */
export function libpqConnectTimeout(where: string, value: string): number {
  if (!/^\s*-?\d{1,9}\s*$/.test(value)) {
    throw new ConfigError(`${where}: expected whole seconds (0: no limit), got "${value}"`);
  }
  return Math.max(0, Number(value));
}
