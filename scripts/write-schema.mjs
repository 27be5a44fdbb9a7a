// Writes pgcopy.schema.json (the config) and pgcopy.report.schema.json (the JSON report) from the
// zod schemas in src/config/schema.ts and src/report/report-schema.ts, built into dist/ by
// `npm run build`, and the configuration reference of docs/configuration.md from the same schema.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configJsonSchemaText } from '../dist/config/json-schema.js';
import { format, resolveConfig } from 'prettier';
import { configReferenceMarkdown, replaceGeneratedSection } from '../dist/config/config-docs.js';
import { reportJsonSchemaText } from '../dist/report/report-schema.js';

for (const [name, text] of [
  ['pgcopy.schema.json', configJsonSchemaText()],
  ['pgcopy.report.schema.json', reportJsonSchemaText()],
]) {
  const file = fileURLToPath(new URL(`../${name}`, import.meta.url));
  writeFileSync(file, text);
  console.log(`wrote ${file}`);
}

const docs = fileURLToPath(new URL('../docs/configuration.md', import.meta.url));
// Formatted as `npm run format` would, so that the page stays as prettier leaves it.
const page = replaceGeneratedSection(readFileSync(docs, 'utf8'), configReferenceMarkdown());
writeFileSync(docs, await format(page, { ...(await resolveConfig(docs)), filepath: docs }));
console.log(`wrote the configuration reference in ${docs}`);
