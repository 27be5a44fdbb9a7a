import { ConfigError } from '../errors.js';
import { libpqConnectTimeout } from '../libpq/values.js';
import { SSL_MODES, type SslMode } from './types.js';

export interface UrlParts {
  host?: string;
  port?: number;
  database?: string;
  user?: string;
  password?: string;
  sslmode?: SslMode;
  sslrootcert?: string;
  sslcert?: string;
  sslkey?: string;
  sslpassword?: string;
  connectTimeout?: number;
  applicationName?: string;
}

/** The URL parameters pgcopy reads, as libpq names them, and the field each one fills. */
const TEXT_PARAMETERS = {
  sslrootcert: 'sslrootcert',
  sslcert: 'sslcert',
  sslkey: 'sslkey',
  sslpassword: 'sslpassword',
  application_name: 'applicationName',
} as const satisfies Record<string, keyof UrlParts>;

/** Parameters whose value is a secret: never repeated in a message. */
const SECRET_PARAMETERS: ReadonlySet<string> = new Set(['sslpassword']);

const SUPPORTED = ['sslmode', 'connect_timeout', ...Object.keys(TEXT_PARAMETERS)].join(', ');

/** The URL's fields, and what to warn about (a TLS parameter given twice). */
export interface ParsedUrl {
  readonly parts: UrlParts;
  readonly warnings: readonly string[];
}

/** `path: message`, or the message alone when the caller adds the path (the config schema). */
function at(path: string, message: string): string {
  return path === '' ? message : `${path}: ${message}`;
}

/** Percent-decodes one part of the URL; a malformed escape names the part, never its text. */
function decodePart(path: string, part: string, text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new ConfigError(
      at(path, `the URL's ${part} holds a malformed percent-escape (write % as %25)`),
    );
  }
}

/**
 * Splits a `postgres://user:password@host:port/database?sslmode=...` URL into fields.
 * Errors never repeat the URL: it may hold a password.
 */
export function parsePostgresUrl(path: string, text: string): ParsedUrl {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(at(path, 'not a valid postgres:// URL'));
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigError(
      at(path, `expected a postgres:// URL, got scheme "${url.protocol.slice(0, -1)}"`),
    );
  }
  const parts: UrlParts = {};
  if (url.hostname) parts.host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (url.port) parts.port = Number(url.port);
  const database = decodePart(path, 'database name', url.pathname.replace(/^\//, ''));
  if (database) parts.database = database;
  if (url.username) parts.user = decodePart(path, 'user', url.username);
  if (url.password) parts.password = decodePart(path, 'password', url.password);
  // An unencoded `@` after the `?` means the user-info spilled into the query: naming a parameter
  // or its value would then print part of a password.
  if (url.search.includes('@') || url.hash !== '') {
    throw new ConfigError(
      at(
        path,
        `the URL's query string holds "@", or the URL a "#": percent-encode the user and password ` +
          '(@ as %40, ? as %3F, # as %23, / as %2F, : as %3A, % as %25)',
      ),
    );
  }
  const warnings: string[] = [];
  const seen = new Map<string, string>();
  for (const [key, value] of url.searchParams) {
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      warnings.push(
        SECRET_PARAMETERS.has(key)
          ? `${path}: ${key} is given twice; the last one is used (values not shown)`
          : `${path}: ${key} is given twice ("${earlier}", then "${value}"); the last one, "${value}", is used`,
      );
    }
    seen.set(key, value);
    if (key === 'sslmode') {
      if (!(SSL_MODES as readonly string[]).includes(value)) {
        throw new ConfigError(
          at(path, `sslmode must be one of ${SSL_MODES.join(', ')}, got "${value}"`),
        );
      }
      parts.sslmode = value as SslMode;
    } else if (key === 'connect_timeout') {
      parts.connectTimeout = libpqConnectTimeout(at(path, 'connect_timeout'), value);
    } else if (Object.hasOwn(TEXT_PARAMETERS, key)) {
      parts[TEXT_PARAMETERS[key as keyof typeof TEXT_PARAMETERS]] = value;
    } else {
      throw new ConfigError(
        at(path, `unsupported URL parameter "${key}" (supported: ${SUPPORTED})`),
      );
    }
  }
  return { parts, warnings };
}
