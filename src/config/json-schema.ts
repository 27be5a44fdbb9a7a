import * as z from 'zod';
import { configSchema } from './schema.js';

/**
 * The JSON Schema of a pgcopy config (draft 2020-12), for editors (yaml-language-server): keys,
 * types, choices and descriptions, generated from the zod schema that validates a config
 * (schema.ts). `npm run schema` writes it to pgcopy.schema.json; a test keeps the file current.
 * Checks a JSON schema cannot say (fingerprint format, where filters, duplicates) stay in zod.
 */
export function configJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(configSchema, { io: 'input', target: 'draft-2020-12' });
}

/** The schema file's text, as `npm run schema` writes it. */
export function configJsonSchemaText(): string {
  return JSON.stringify(configJsonSchema(), null, 2) + '\n';
}
