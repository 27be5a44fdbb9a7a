import { SecretError } from '../errors.js';

/** An SSH private key held by a secret (PEM or OpenSSH format), with its passphrase if any. */
export interface SecretSshKey {
  readonly privateKey: string;
  readonly passphrase?: string;
}

/** The connection fields one secret provides; every field may be absent. */
export interface SecretFields {
  readonly host?: string;
  readonly port?: number;
  readonly user?: string;
  readonly password?: string;
  readonly database?: string;
  readonly ssh?: SecretSshKey;
}

export type JsonObject = Readonly<Record<string, unknown>>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Parses a secret's text as a JSON object. The error names the secret, never its content: a
 * SyntaxError from JSON.parse quotes the text, so it is not kept as the cause.
 */
export function parseSecretJson(label: string, text: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new SecretError(`${label} is not valid JSON`);
  }
  if (!isObject(value)) throw new SecretError(`${label} is not a JSON object`);
  return value;
}

/** The entry `key` of a combined secret, or undefined when the secret has no such key. */
export function combinedEntry(label: string, doc: JsonObject, key: string): JsonObject | undefined {
  const entry = own(doc, key);
  if (entry === undefined) return undefined;
  if (!isObject(entry)) throw new SecretError(`${label} key "${key}" is not a JSON object`);
  return entry;
}

/** An own property only: a key such as `__proto__` or `toString` must not reach the prototype. */
function own(doc: JsonObject, key: string): unknown {
  return Object.getOwnPropertyDescriptor(doc, key)?.value as unknown;
}

function typeName(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function text(label: string, doc: JsonObject, keys: readonly string[]): string | undefined {
  for (const key of keys) {
    const value = own(doc, key);
    if (value === undefined || value === null || value === '') continue;
    // A number (a numeric password or database name written without quotes) is its text.
    if (typeof value === 'number' && Number.isFinite(value)) return String(value);
    if (typeof value !== 'string')
      throw new SecretError(`${label} field "${key}" must be a string (got ${typeName(value)})`);
    return value;
  }
  return undefined;
}

function port(label: string, doc: JsonObject): number | undefined {
  const value = own(doc, 'port');
  if (value === undefined || value === null || value === '') return undefined;
  const n = typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 65535) {
    throw new SecretError(`${label} field "port" must be a port number (1-65535)`);
  }
  return n;
}

const KEY_HEADER = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;

function privateKey(label: string, key: string): string {
  // A key pasted into a console often arrives with literal "\n" sequences instead of newlines.
  const normalised = !key.includes('\n') && key.includes('\\n') ? key.replace(/\\n/g, '\n') : key;
  if (!KEY_HEADER.test(normalised)) {
    throw new SecretError(
      `${label} field "ssh" is not a private key (expected PEM or OpenSSH: -----BEGIN ... PRIVATE KEY-----)`,
    );
  }
  return normalised;
}

function sshKey(label: string, doc: JsonObject): SecretSshKey | undefined {
  const value = own(doc, 'ssh');
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'string') return { privateKey: privateKey(label, value) };
  if (isObject(value)) {
    const key = text(`${label} field "ssh"`, value, ['privateKey']);
    if (key === undefined) throw new SecretError(`${label} field "ssh" has no "privateKey" field`);
    const passphrase = text(`${label} field "ssh"`, value, ['passphrase']);
    return {
      privateKey: privateKey(label, key),
      ...(passphrase !== undefined ? { passphrase } : {}),
    };
  }
  throw new SecretError(`${label} field "ssh" must be a private key or { privateKey, passphrase }`);
}

/**
 * Reads the connection fields of one secret document, in the ancestor's layout or as RDS writes
 * it: `username`/`user`, `dbname`/`database` (else `dbInstanceIdentifier`), `port` as a number or a
 * string; `engine` and unknown fields are ignored. Errors name the field, never its value.
 */
export function readSecretFields(label: string, doc: JsonObject): SecretFields {
  const host = text(label, doc, ['host']);
  const p = port(label, doc);
  const user = text(label, doc, ['username', 'user']);
  const password = text(label, doc, ['password']);
  const database = text(label, doc, ['dbname', 'database', 'dbInstanceIdentifier']);
  const ssh = sshKey(label, doc);
  return {
    ...(host !== undefined ? { host } : {}),
    ...(p !== undefined ? { port: p } : {}),
    ...(user !== undefined ? { user } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(database !== undefined ? { database } : {}),
    ...(ssh !== undefined ? { ssh } : {}),
  };
}
