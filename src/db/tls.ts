import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { ConfigError } from '../errors.js';
import type { ConnectionSpec } from './connection-spec.js';

/** pg's `ssl` option for an endpoint's sslmode, as libpq interprets the same modes. */
export function tlsOptions(spec: ConnectionSpec): false | ConnectionOptions {
  const mode = spec.sslmode;
  if (mode === 'disable') return false;
  let ca: string | undefined;
  if (spec.sslrootcert !== undefined) {
    try {
      ca = readFileSync(spec.sslrootcert, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
      throw new ConfigError(`${spec.name}.sslrootcert: cannot read ${spec.sslrootcert} (${code})`, {
        cause: error,
      });
    }
  }
  if (mode === 'prefer' || mode === 'require') {
    // libpq: require without a root cert encrypts but does not verify.
    return { rejectUnauthorized: false };
  }
  if (ca === undefined) {
    throw new ConfigError(`${spec.name}.sslrootcert: is required for sslmode ${mode}`);
  }
  if (mode === 'verify-ca') {
    // Chain must verify; the host name is not checked.
    return { ca, rejectUnauthorized: true, checkServerIdentity: () => undefined };
  }
  return { ca, rejectUnauthorized: true, servername: spec.host };
}

/** pg's message when `ssl` is set and the server answers 'N' to SSLRequest. */
export function isSslUnsupported(error: unknown): boolean {
  return error instanceof Error && error.message.includes('does not support SSL');
}
