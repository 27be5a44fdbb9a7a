import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';

/** Benchmarks: the real copy path on real servers, figures printed; not part of npm test. */
export default mergeConfig(
  base,
  defineConfig({
    test: {
      include: ['bench/**/*.bench.test.ts'],
      testTimeout: 900_000,
      fileParallelism: false,
      coverage: { enabled: false },
    },
  }),
);
