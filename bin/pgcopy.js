#!/usr/bin/env node
// pgcopy's CLI: one bundled file (dist/cli/pgcopy.cjs, made by `npm run build`), compiled from
// V8's code cache the previous start left.
import { fileURLToPath } from 'node:url';
import { runBundledCli } from '../dist/cli/code-cache.js';

const bundle = fileURLToPath(new URL('../dist/cli/pgcopy.cjs', import.meta.url));
await runBundledCli(bundle, process.argv.slice(2));
