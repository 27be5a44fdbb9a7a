import { createHmac } from 'node:crypto';
import type { MaskKeySource, SecretsConfig } from '../config/types.js';
import { ConfigError, SecretError } from '../errors.js';
import type { SecretsProvider } from '../secrets/provider.js';
import { perDatabaseSecretId } from '../secrets/secret-layouts.js';
import { MASK_KEY_SETTING } from './mask-sql.js';

/** Shorter keys are refused: a key that can be guessed makes every keyed mask reversible. */
export const MIN_MASK_KEY_BYTES = 16;

/**
 * The key the source sessions get: 128 bits of an HMAC of a fixed label under the operator's
 * key, as 32 hex digits. The operator's key itself never reaches a server; the same key always
 * gives the same one.
 */
export function derivedMaskKey(key: string): string {
  return createHmac('sha256', key).update('pgcopy data rules v1').digest('hex').slice(0, 32);
}

/**
 * The libpq `options` of a source session that masks: the derived key as a session setting, set
 * at connection time, so that it is in no statement's text (nor in a statement log).
 */
export function maskKeyOptions(derived: string): string {
  if (!/^[0-9a-f]+$/.test(derived)) throw new Error('a derived mask key is hex');
  return `-c ${MASK_KEY_SETTING}=${derived}`;
}

/** A secret holding the key: its whole text, or the `key` field of a JSON object. */
function keyOfSecret(text: string): string {
  try {
    const doc: unknown = JSON.parse(text);
    if (typeof doc === 'object' && doc !== null && 'key' in doc && typeof doc.key === 'string') {
      return doc.key;
    }
  } catch {
    // Not JSON: the text is the key.
  }
  return text;
}

/**
 * Reads options.maskKey from the environment or the secrets provider and derives the sessions'
 * key from it. Errors name the variable or secret, never the key.
 */
export async function resolveMaskKey(
  source: MaskKeySource,
  deps: {
    readonly env: Readonly<Record<string, string | undefined>>;
    readonly secrets?: SecretsProvider | undefined;
    readonly secretsConfig?: SecretsConfig | undefined;
    readonly signal?: AbortSignal | undefined;
  },
): Promise<string> {
  let key: string;
  let where: string;
  if ('env' in source) {
    where = `environment variable ${source.env}`;
    const value = deps.env[source.env];
    if (value === undefined || value === '') {
      throw new ConfigError(`options.maskKey: ${where} is not set`);
    }
    key = value;
  } else {
    const id = perDatabaseSecretId(deps.secretsConfig, source.secret);
    where = `secret "${id}"`;
    if (!deps.secrets) {
      throw new ConfigError(
        'options.maskKey.secret: no secrets provider configured (add a secrets section)',
      );
    }
    const texts = await deps.secrets.fetch([id], deps.signal ? { signal: deps.signal } : {});
    const text = texts.get(id);
    if (text === undefined) throw new SecretError(`options.maskKey: ${where} not found`);
    key = keyOfSecret(text);
  }
  if (Buffer.byteLength(key) < MIN_MASK_KEY_BYTES) {
    throw new ConfigError(
      `options.maskKey: the key in ${where} has fewer than ${MIN_MASK_KEY_BYTES} bytes (value not shown)`,
    );
  }
  return derivedMaskKey(key);
}
