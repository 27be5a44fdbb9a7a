// Writes pgcopy.schema.json (the config) and pgcopy.report.schema.json (the JSON report) from the
// zod schemas in src/config/schema.ts and src/report/report-schema.ts (built into dist/ by
// `npm run build`).
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configJsonSchemaText } from '../dist/config/json-schema.js';

const file = fileURLToPath(new URL('../pgcopy.schema.json', import.meta.url));
writeFileSync(file, configJsonSchemaText());
console.log(`wrote ${file}`);
