import { SecretError } from '../errors.js';
import {
  combinedEntry,
  parseSecretJson,
  readSecretFields,
  type JsonObject,
  type SecretFields,
} from './parse-secret.js';
import type { SecretsProvider } from './provider.js';
import { describeTried, type SecretLookup } from './secret-layouts.js';

/** The fields an endpoint's secret gave, and where they came from (for messages). */
export interface EndpointSecret {
  /** `secret "a/b/c"` or `secret "a/b" key "c"`: safe to print. */
  readonly label: string;
  readonly fields: SecretFields;
}

/** An endpoint's secret, or why it could not be had (kept with that endpoint, not thrown). */
export type EndpointSecretResult = EndpointSecret | SecretError;

/**
 * Fetches the secrets of every endpoint (keyed by config path) in as few calls as the layouts
 * allow. A secret that is missing, unreadable or malformed is that endpoint's error: when a shared
 * call fails for one secret (access denied inside a batch), each endpoint's secret is fetched on
 * its own, so that only the endpoint concerned carries the error. A timeout is not retried that
 * way: the service is not answering anyone.
 */
export async function fetchEndpointSecrets(
  provider: SecretsProvider,
  lookups: ReadonlyMap<string, SecretLookup>,
  signal: AbortSignal | undefined,
): Promise<Map<string, EndpointSecretResult>> {
  try {
    return await fetchTogether(provider, lookups, signal);
  } catch (error) {
    if (!(error instanceof SecretError) || error.code === 'SECRET_TIMEOUT' || lookups.size === 1) {
      throw error;
    }
    const out = new Map<string, EndpointSecretResult>();
    for (const [path, lookup] of lookups) {
      try {
        const one = await fetchTogether(provider, new Map([[path, lookup]]), signal);
        for (const [p, result] of one) out.set(p, result);
      } catch (failure) {
        if (!(failure instanceof SecretError) || failure.code === 'SECRET_TIMEOUT') throw failure;
        out.set(path, failure);
      }
    }
    return out;
  }
}

/**
 * First every per-database id and secretId together, then the combined secrets of the names
 * still missing. Each secret's text is parsed once.
 */
async function fetchTogether(
  provider: SecretsProvider,
  lookups: ReadonlyMap<string, SecretLookup>,
  signal: AbortSignal | undefined,
): Promise<Map<string, EndpointSecretResult>> {
  const options = signal ? { signal } : {};
  const all = [...lookups.values()];
  const firstIds = all.map((l) => (l.kind === 'id' ? l.id : l.perDatabaseId));
  const texts = await provider.fetch([...new Set(firstIds)], options);
  const combinedIds = all.flatMap((l) =>
    l.kind === 'name' && !texts.has(l.perDatabaseId) && l.combinedId !== undefined
      ? [l.combinedId]
      : [],
  );
  if (combinedIds.length > 0) {
    for (const [id, text] of await provider.fetch([...new Set(combinedIds)], options)) {
      texts.set(id, text);
    }
  }

  const docs = new Map<string, JsonObject>();
  const docOf = (id: string, text: string): JsonObject => {
    let doc = docs.get(id);
    if (doc === undefined) {
      doc = parseSecretJson(`secret "${id}"`, text);
      docs.set(id, doc);
    }
    return doc;
  };

  const out = new Map<string, EndpointSecretResult>();
  for (const [path, lookup] of lookups) {
    try {
      out.set(path, endpointSecret(path, lookup, texts, docOf));
    } catch (error) {
      if (!(error instanceof SecretError)) throw error;
      out.set(path, error);
    }
  }
  return out;
}

function endpointSecret(
  path: string,
  lookup: SecretLookup,
  texts: ReadonlyMap<string, string>,
  docOf: (id: string, text: string) => JsonObject,
): EndpointSecret {
  const directId = lookup.kind === 'id' ? lookup.id : lookup.perDatabaseId;
  const direct = texts.get(directId);
  if (direct !== undefined) {
    const label = `secret "${directId}"`;
    return { label, fields: readSecretFields(label, docOf(directId, direct)) };
  }
  const combinedId = lookup.kind === 'name' ? lookup.combinedId : undefined;
  const combined = combinedId !== undefined ? texts.get(combinedId) : undefined;
  if (lookup.kind === 'name' && combinedId !== undefined && combined !== undefined) {
    const label = `secret "${combinedId}"`;
    const entry = combinedEntry(label, docOf(combinedId, combined), lookup.name);
    if (entry !== undefined) {
      const entryLabel = `${label} key "${lookup.name}"`;
      return { label: entryLabel, fields: readSecretFields(entryLabel, entry) };
    }
  }
  throw new SecretError(`${path}: secret not found (tried ${describeTried(lookup)})`);
}
