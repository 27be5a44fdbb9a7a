// Writes pgcopy.schema.json (the config) and pgcopy.report.schema.json (the JSON report) from the
// zod schemas in src/config/schema.ts and src/report/report-schema.ts, built into dist/ by
// `npm run build`.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configJsonSchemaText } from '../dist/config/json-schema.js';
import { reportJsonSchemaText } from '../dist/report/report-schema.js';

for (const [name, text] of [
  ['pgcopy.schema.json', configJsonSchemaText()],
  ['pgcopy.report.schema.json', reportJsonSchemaText()],
]) {
  const file = fileURLToPath(new URL(`../${name}`, import.meta.url));
  writeFileSync(file, text);
  console.log(`wrote ${file}`);
}
