import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * Benchmarks: the real copy path on real servers, figures printed; not part of npm test. Built
 * from the base config's test settings without its `include` (mergeConfig would append to it, and
 * every test file would run as a benchmark).
 */
export default defineConfig({
  test: {
    ...base.test,
    include: ['bench/**/*.bench.test.ts'],
    globalSetup: ['bench/global-setup.ts'],
    testTimeout: 900_000,
    fileParallelism: false,
    coverage: { enabled: false },
  },
});
