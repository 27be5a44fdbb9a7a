#!/usr/bin/env node
// The compile cache is on before the first module it should cover is compiled: main loads after.
import { enableCompileCache } from '../dist/cli/compile-cache.js';

enableCompileCache();
const { main } = await import('../dist/cli/main.js');
await main(process.argv.slice(2));
