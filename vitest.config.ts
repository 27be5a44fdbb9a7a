import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    env: {
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      AWS_ACCESS_KEY_ID: 'AKIDTESTONLY',
      AWS_SECRET_ACCESS_KEY: 'test-secret-key-not-real',
      AWS_REGION: 'ap-southeast-2',
    },
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      exclude: ['src/demo/**', 'src/**/types.ts'],
      reporter: ['text-summary', 'text', 'html'],
      // The HTML report lands at log/index.html, beside the audit logs of runs made from this
      // checkout: clean: false keeps vitest from emptying the directory first (it then only adds and
      // removes its own log/.tmp while it runs).
      reportsDirectory: 'log',
      clean: false,
      thresholds: { lines: 90, branches: 90 },
    },
  },
});
