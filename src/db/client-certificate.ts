import { createSecureContext } from 'node:tls';
import { ConfigError } from '../errors.js';
import { readPrivateKeyFileSync, readOperatorFileSync } from '../operator-files.js';
import type { ConnectionSpec } from './connection-spec.js';

/** node:tls's client certificate options: the PEM texts and the key's passphrase. */
export interface ClientCertificate {
  readonly cert: string;
  readonly key: string;
  readonly passphrase?: string;
}

/**
 * Reads an endpoint's sslcert and sslkey, as libpq uses them: the key must not be readable by
 * group or others, and an encrypted key needs sslpassword. Both are checked here, before any
 * connection, so that a wrong passphrase or a key of another certificate is a config error naming
 * the key, never a TLS alert from the server. Messages never show the passphrase.
 */
export function clientCertificate(spec: ConnectionSpec): ClientCertificate | undefined {
  const { name } = spec;
  if (spec.sslcert === undefined && spec.sslkey === undefined) {
    if (spec.sslpassword !== undefined) {
      throw new ConfigError(`${name}.sslpassword: is given but ${name}.sslkey is not`);
    }
    return undefined;
  }
  if (spec.sslcert === undefined) {
    throw new ConfigError(`${name}.sslcert: is required with ${name}.sslkey`);
  }
  if (spec.sslkey === undefined) {
    throw new ConfigError(`${name}.sslkey: is required with ${name}.sslcert`);
  }
  const cert = readOperatorFileSync(`${name}.sslcert`, spec.sslcert);
  const key = readPrivateKeyFileSync(`${name}.sslkey`, spec.sslkey);
  const certificate: ClientCertificate = {
    cert,
    key,
    ...(spec.sslpassword !== undefined ? { passphrase: spec.sslpassword } : {}),
  };
  try {
    createSecureContext(certificate);
  } catch (error) {
    throw new ConfigError(
      `${name}.sslkey: ${spec.sslkey} cannot be used with ${name}.sslcert ${spec.sslcert} (${whyUnusable(error, spec)})`,
    );
  }
  return certificate;
}

/** OpenSSL's reason in words an operator acts on; never the passphrase. */
function whyUnusable(error: unknown, spec: ConnectionSpec): string {
  const message = error instanceof Error ? error.message : String(error);
  if (/bad decrypt|bad password|interrupted or cancelled|no start line/i.test(message)) {
    return spec.sslpassword === undefined
      ? 'the key is encrypted or not PEM: give its passphrase as sslpassword'
      : 'the key cannot be decrypted with sslpassword, or is not PEM';
  }
  if (/key values mismatch/i.test(message)) return 'the key is not the key of the certificate';
  if (/PEM|certificate|X509/i.test(message)) return 'the certificate is not readable PEM';
  return 'OpenSSL refused them';
}
