import { X509Certificate } from 'node:crypto';
import { ConfigError } from '../errors.js';
import { readOperatorFileSync } from '../operator-files.js';

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * Reads an `sslrootcert` file and checks that it holds at least one PEM certificate, every one
 * readable: an empty or garbage file would otherwise surface only as "unable to verify the first
 * certificate" at connect time, naming neither the file nor the cause.
 */
export function readCaFile(key: string, path: string): string {
  const text = readOperatorFileSync(key, path);
  const blocks = text.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) {
    throw new ConfigError(
      `${key}: ${path} holds no certificate (expected PEM: -----BEGIN CERTIFICATE-----)`,
    );
  }
  blocks.forEach((block, i) => {
    try {
      new X509Certificate(block);
    } catch {
      throw new ConfigError(`${key}: ${path}: certificate ${i + 1} cannot be read (not valid PEM)`);
    }
  });
  return text;
}
