import { parsePostgresUrl, type UrlParts } from './parse-url.js';
import type { EndpointFields, TargetFields } from './schema.js';
import { present } from './schema-kit.js';
import type { EndpointConfig, TableSpec, TargetConfig } from './types.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** An endpoint or target resolved, and what to warn about while resolving it. */
export interface Resolved<T> {
  readonly value: T;
  readonly warnings: readonly string[];
}

/** A setting given both in the URL and as a key, with different values: the key wins, say so. */
function urlOverrides(path: string, fromUrl: UrlParts, ep: EndpointConfig): string[] {
  const keys = [
    ['sslmode', 'sslmode'],
    ['sslrootcert', 'sslrootcert'],
    ['sslcert', 'sslcert'],
    ['sslkey', 'sslkey'],
    ['sslpassword', 'sslpassword'],
    ['connectTimeout', 'connect_timeout'],
    ['applicationName', 'application_name'],
  ] as const;
  return keys.flatMap(([key, parameter]) => {
    const inUrl = fromUrl[key];
    const explicit = ep[key];
    if (inUrl === undefined || explicit === undefined || inUrl === explicit) return [];
    // A passphrase is never repeated, not even in a warning.
    return key === 'sslpassword'
      ? [`${path}.${key} overrides ${parameter} in ${path}.url (values not shown)`]
      : [`${path}.${key}: "${explicit}" overrides ${parameter}=${inUrl} in ${path}.url`];
  });
}

/** The URL's fields, overridden by the keys given beside it (the schema has checked both). */
export function resolveEndpoint(
  path: string,
  name: string,
  fields: EndpointFields,
): Resolved<EndpointConfig> {
  const ep: Mutable<EndpointConfig> = { name, schema: fields.schema ?? 'public' };
  const parsed = fields.url ? parsePostgresUrl(`${path}.url`, fields.url) : undefined;
  const fromUrl = parsed?.parts ?? {};
  Object.assign(ep, fromUrl);
  for (const key of [
    'host',
    'port',
    'database',
    'user',
    'password',
    'secret',
    'secretId',
    'service',
    'sslmode',
    'sslrootcert',
    'sslcert',
    'sslkey',
    'sslpassword',
    'connectTimeout',
    'applicationName',
    'auth',
    'region',
    'ssh',
    'serverAddress',
  ] as const) {
    const value = fields[key];
    if (value !== undefined && value !== null) Object.assign(ep, { [key]: value });
  }
  return { value: ep, warnings: [...(parsed?.warnings ?? []), ...urlOverrides(path, fromUrl, ep)] };
}

/** A target: its endpoint, its tables and patterns apart, and the keys it gave. */
export function resolveTarget(path: string, fields: TargetFields): Resolved<TargetConfig> {
  const endpoint = resolveEndpoint(path, fields.name, fields);
  const tables: TableSpec[] = [];
  const tablePatterns: string[] = [];
  for (const entry of fields.tables) {
    if ('pattern' in entry) tablePatterns.push(entry.pattern);
    else tables.push(entry);
  }
  const target: TargetConfig = {
    ...endpoint.value,
    tables,
    ...present({
      strategy: fields.strategy,
      lockTimeoutMs: fields.lockTimeout,
      statementTimeoutMs: fields.statementTimeout,
      disableTriggers: fields.disableTriggers,
      protected: fields.protected,
      exclude: fields.exclude,
      split: fields.split,
      rebuildIndexes: fields.rebuildIndexes,
      acknowledge: fields.acknowledge,
      dataRules: fields.dataRules,
    }),
    ...(tablePatterns.length > 0 ? { tablePatterns } : {}),
  };
  return { value: target, warnings: endpoint.warnings };
}
