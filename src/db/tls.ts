import { isIP } from 'node:net';
import { checkServerIdentity, type ConnectionOptions } from 'node:tls';
import { ConfigError } from '../errors.js';
import { readCaFile } from './ca-file.js';
import { clientCertificate } from './client-certificate.js';
import type { ConnectionSpec } from './connection-spec.js';

/** pg's `ssl` option for an endpoint's sslmode, as libpq interprets the same modes. */
export function tlsOptions(spec: ConnectionSpec): false | ConnectionOptions {
  const mode = spec.sslmode;
  if (mode === 'disable') return false;
  return { ...serverCheck(spec), ...clientCertificate(spec) };
}

/** How the server's certificate is checked, by sslmode. */
function serverCheck(spec: ConnectionSpec): ConnectionOptions {
  const mode = spec.sslmode;
  const ca =
    spec.sslrootcert === undefined
      ? undefined
      : readCaFile(`${spec.name}.sslrootcert`, spec.sslrootcert);
  if (mode === 'prefer' || (mode === 'require' && ca === undefined)) {
    // libpq: require without a root cert encrypts but does not verify.
    return { rejectUnauthorized: false };
  }
  if (ca === undefined) {
    throw new ConfigError(`${spec.name}.sslrootcert: is required for sslmode ${mode}`);
  }
  if (mode === 'verify-ca' || mode === 'require') {
    // Chain must verify; the host name is not checked (libpq: require with a root cert = verify-ca).
    return { ca, rejectUnauthorized: true, checkServerIdentity: () => undefined };
  }
  // verify-full: the certificate must name the database host as configured, not the address
  // actually dialled (through an SSH tunnel that is 127.0.0.1). SNI is never an IP (RFC 6066).
  const host = spec.host;
  return {
    ca,
    rejectUnauthorized: true,
    ...(isIP(host) === 0 ? { servername: host } : {}),
    checkServerIdentity: (_dialled, cert) => checkServerIdentity(host, cert),
  };
}

/** pg's message when `ssl` is set and the server answers 'N' to SSLRequest. */
export function isSslUnsupported(error: unknown): boolean {
  return error instanceof Error && error.message.includes('does not support SSL');
}
