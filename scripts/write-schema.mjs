// Writes pgcopy.schema.json from src/config/json-schema.ts (built into dist/ by `npm run build`).
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configJsonSchemaText } from '../dist/config/json-schema.js';

const file = fileURLToPath(new URL('../pgcopy.schema.json', import.meta.url));
writeFileSync(file, configJsonSchemaText());
console.log(`wrote ${file}`);
