import { ConfigError } from '../errors.js';
import { SSL_MODES, type SslMode } from './types.js';

export interface UrlParts {
  host?: string;
  port?: number;
  database?: string;
  user?: string;
  password?: string;
  sslmode?: SslMode;
  sslrootcert?: string;
}

/**
 * Splits a `postgres://user:password@host:port/database?sslmode=...` URL into fields.
 * Errors never repeat the URL: it may hold a password.
 */
export function parsePostgresUrl(path: string, text: string): UrlParts {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(`${path}: not a valid postgres:// URL`);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigError(
      `${path}: expected a postgres:// URL, got scheme "${url.protocol.slice(0, -1)}"`,
    );
  }
  const parts: UrlParts = {};
  if (url.hostname) parts.host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (url.port) parts.port = Number(url.port);
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (database) parts.database = database;
  if (url.username) parts.user = decodeURIComponent(url.username);
  if (url.password) parts.password = decodeURIComponent(url.password);
  for (const [key, value] of url.searchParams) {
    if (key === 'sslmode') {
      if (!(SSL_MODES as readonly string[]).includes(value)) {
        throw new ConfigError(
          `${path}: sslmode must be one of ${SSL_MODES.join(', ')}, got "${value}"`,
        );
      }
      parts.sslmode = value as SslMode;
    } else if (key === 'sslrootcert') {
      parts.sslrootcert = value;
    } else {
      throw new ConfigError(
        `${path}: unsupported URL parameter "${key}" (supported: sslmode, sslrootcert)`,
      );
    }
  }
  return parts;
}
