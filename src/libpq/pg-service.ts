import { join } from 'node:path';
import type { PgEnvFields } from './pg-env.js';
import { ConfigError } from '../errors.js';
import { readLibpqFile } from '../operator-files.js';
import { libpqConnectTimeout, libpqPort, libpqSslmode } from './values.js';

type Env = Readonly<Record<string, string | undefined>>;

/** The endpoint fields a service section may give: the same as libpq's variables. */
export type ServiceFields = PgEnvFields;

/** Sections of an INI file as libpq reads pg_service.conf: `[name]`, `key=value`, `#` comments. */
export function parseServiceFile(text: string): Map<string, Map<string, string>> {
  const sections = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section) {
      current = new Map();
      sections.set(section[1] ?? '', current);
      continue;
    }
    const eq = line.indexOf('=');
    if (current && eq > 0) current.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return sections;
}

function fieldsOf(path: string, section: Map<string, string>): ServiceFields {
  const fields: { -readonly [K in keyof ServiceFields]: ServiceFields[K] } = {};
  const text = [
    ['host', 'host'],
    ['database', 'dbname'],
    ['user', 'user'],
    ['password', 'password'],
    ['sslrootcert', 'sslrootcert'],
    ['sslcert', 'sslcert'],
    ['sslkey', 'sslkey'],
    ['sslpassword', 'sslpassword'],
    ['applicationName', 'application_name'],
  ] as const;
  for (const [field, key] of text) {
    const value = section.get(key);
    if (value !== undefined && value !== '') fields[field] = value;
  }
  const port = section.get('port');
  if (port !== undefined) fields.port = libpqPort(`${path}: port`, port);
  const connectTimeout = section.get('connect_timeout');
  if (connectTimeout !== undefined) {
    fields.connectTimeout = libpqConnectTimeout(`${path}: connect_timeout`, connectTimeout);
  }
  const sslmode = section.get('sslmode');
  if (sslmode !== undefined) fields.sslmode = libpqSslmode(`${path}: sslmode`, sslmode);
  return fields;
}

/**
 * The fields of service `name`, looked up as libpq does: `PGSERVICEFILE` (else
 * `~/.pg_service.conf`) first, then `PGSYSCONFDIR/pg_service.conf`. A service found in neither is
 * a config error naming the files tried; `key` is where the service was named (`source.service`).
 */
export async function readService(key: string, name: string, env: Env): Promise<ServiceFields> {
  const home = env['HOME'];
  const userFile =
    env['PGSERVICEFILE'] ?? (home === undefined ? undefined : join(home, '.pg_service.conf'));
  const sysconf = env['PGSYSCONFDIR'];
  const files = [userFile, sysconf === undefined ? undefined : join(sysconf, 'pg_service.conf')];
  const tried: string[] = [];
  for (const file of files) {
    if (file === undefined || file === '') continue;
    tried.push(file);
    const read = await readLibpqFile(key, file);
    const section = read && parseServiceFile(read.text).get(name);
    if (section) return fieldsOf(`${file} [${name}]`, section);
  }
  const where = tried.length > 0 ? tried.join(', ') : 'no file (set PGSERVICEFILE or HOME)';
  throw new ConfigError(`${key}: service "${name}" not found in ${where}`);
}
