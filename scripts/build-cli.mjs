// The CLI in one file: `node scripts/build-cli.mjs` (part of `npm run build`) -> dist/cli/pgcopy.cjs,
// every module of pgcopy and its dependencies, which bin/pgcopy.js loads through V8's code cache
// (src/cli/code-cache.ts). One file, compiled once and then read from the cache, starts in about
// half the time of the ~400 modules it holds (docs/performance.md, "Fixed costs").
import { rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundle } from './bundle.mjs';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const output = join(root, 'dist', 'cli', 'pgcopy.cjs');

const code = await bundle({
  entryPoints: [join(root, 'src', 'cli', 'main.ts')],
  format: 'cjs',
  // `init` finds pgcopy.schema.json beside the package through import.meta.url, which a CommonJS
  // file has not: the URL of the module it was compiled to stands in for it.
  define: { 'import.meta.url': '__pgcopyModuleUrl' },
  banner: {
    js: "const __pgcopyModuleUrl = require('node:url').pathToFileURL(require('node:path').join(__dirname, 'commands', 'init.js')).href;",
  },
});
// Written beside its place and renamed into it: a running pgcopy never reads half a file.
await writeFile(`${output}.partial`, code);
await rename(`${output}.partial`, output);
