import type { EndpointConfig, SecretsConfig } from '../config/types.js';

/**
 * Where an endpoint's secret may live:
 * - `secretId: ID`: the secret ID (a name or an ARN), used as it is;
 * - `secret: NAME`: first the per-database secret `<prefix>/<env>/NAME`, then the key NAME of the
 *   combined secret `<prefix>/<env>` (no combined secret when neither prefix nor env is set).
 */
export type SecretLookup =
  | { readonly kind: 'id'; readonly id: string }
  | {
      readonly kind: 'name';
      readonly name: string;
      readonly perDatabaseId: string;
      readonly combinedId: string | undefined;
    };

function join(parts: readonly (string | undefined)[]): string {
  return parts
    .filter((p): p is string => p !== undefined && p !== '')
    .map((p) => p.replace(/^\/+|\/+$/g, ''))
    .join('/');
}

/** The combined secret's id, `<prefix>/<env>`, or undefined when neither is configured. */
export function combinedSecretId(secrets: SecretsConfig | undefined): string | undefined {
  const id = join([secrets?.prefix, secrets?.env]);
  return id === '' ? undefined : id;
}

/** The per-database secret's id, `<prefix>/<env>/<name>`. */
export function perDatabaseSecretId(secrets: SecretsConfig | undefined, name: string): string {
  return join([secrets?.prefix, secrets?.env, name]);
}

/** The lookup for an endpoint, or undefined when it references no secret. */
export function secretLookup(
  ep: EndpointConfig,
  secrets: SecretsConfig | undefined,
): SecretLookup | undefined {
  if (ep.secretId !== undefined) return { kind: 'id', id: ep.secretId };
  if (ep.secret === undefined) return undefined;
  return {
    kind: 'name',
    name: ep.secret,
    perDatabaseId: perDatabaseSecretId(secrets, ep.secret),
    combinedId: combinedSecretId(secrets),
  };
}

/** Every place a lookup tried, for "not found" messages: `"a/b/c"`, `key "c" of "a/b"`. */
export function describeTried(lookup: SecretLookup): string {
  if (lookup.kind === 'id') return `"${lookup.id}"`;
  const tried = [`"${lookup.perDatabaseId}"`];
  if (lookup.combinedId !== undefined) tried.push(`key "${lookup.name}" of "${lookup.combinedId}"`);
  return tried.join(', then ');
}
