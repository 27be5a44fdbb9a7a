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

/**
 * Fetches the secrets of every endpoint (keyed by config path) in as few calls as the layouts
 * allow: first every per-database id and secretId together, then the combined secrets of the names
 * still missing. Each secret's text is parsed once.
 */
export async function fetchEndpointSecrets(
  provider: SecretsProvider,
  lookups: ReadonlyMap<string, SecretLookup>,
  signal: AbortSignal | undefined,
): Promise<Map<string, EndpointSecret>> {
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

  const out = new Map<string, EndpointSecret>();
  for (const [path, lookup] of lookups) {
    const directId = lookup.kind === 'id' ? lookup.id : lookup.perDatabaseId;
    const direct = texts.get(directId);
    if (direct !== undefined) {
      const label = `secret "${directId}"`;
      out.set(path, { label, fields: readSecretFields(label, docOf(directId, direct)) });
      continue;
    }
    const combinedId = lookup.kind === 'name' ? lookup.combinedId : undefined;
    const combined = combinedId !== undefined ? texts.get(combinedId) : undefined;
    if (lookup.kind === 'name' && combinedId !== undefined && combined !== undefined) {
      const label = `secret "${combinedId}"`;
      const entry = combinedEntry(label, docOf(combinedId, combined), lookup.name);
      if (entry !== undefined) {
        const entryLabel = `${label} key "${lookup.name}"`;
        out.set(path, { label: entryLabel, fields: readSecretFields(entryLabel, entry) });
        continue;
      }
    }
    throw new SecretError(`${path}: secret not found (tried ${describeTried(lookup)})`);
  }
  return out;
}
