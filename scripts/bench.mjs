#!/usr/bin/env node
// `npm run bench [-- --quick] [-- --rounds N] [FILE...]`: the benchmarks in bench/ under vitest.
// Sizes go to the benchmarks through environment variables; a variable already set wins.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const usage = `npm run bench [-- --quick] [-- --rounds N] [-- FILE...]
  --quick     small sizes, one round, the comparison and sync benchmarks only: checks that every method
              copies every row (correctness, not speed)
  --rounds N  repetitions of each method (default 5; --quick: 1)
  --only RE   in the comparison, only the methods whose names match the regular expression RE
  FILE...     benchmark files to run (default: every bench/*.bench.test.ts; --quick: compare and sync-apply)
Servers: the suite's embedded PostgreSQL 17, or PGCOPY_BENCH_SOURCE_URL and PGCOPY_BENCH_TARGET_URL.`;

let parsed;
try {
  parsed = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      only: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: true,
  });
} catch (error) {
  process.stderr.write(`${error.message}\n${usage}\n`);
  process.exit(2);
}
const { values, positionals } = parsed;
if (values.help) {
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}
if (values.rounds !== undefined && !/^[1-9]\d*$/.test(values.rounds)) {
  process.stderr.write(`--rounds must be a positive integer, got "${values.rounds}"\n`);
  process.exit(2);
}

const quick = {
  PGCOPY_BENCH_QUICK: '1',
  PGCOPY_BENCH_ROWS: '50000',
  PGCOPY_BENCH_TABLES: '20',
  PGCOPY_BENCH_TABLE_ROWS: '1000',
  PGCOPY_BENCH_MEMORY_ROWS: '10000,50000',
  PGCOPY_BENCH_ROUNDS: '1',
};
const env = { ...(values.quick ? quick : {}), ...process.env };
if (values.rounds !== undefined) env.PGCOPY_BENCH_ROUNDS = values.rounds;
if (values.only !== undefined) env.PGCOPY_BENCH_ONLY = values.only;
const files =
  positionals.length > 0
    ? positionals
    : values.quick
      ? ['bench/compare.bench.test.ts', 'bench/sync-apply.bench.test.ts']
      : [];

const root = fileURLToPath(new URL('..', import.meta.url));
const vitest = fileURLToPath(new URL('../node_modules/vitest/vitest.mjs', import.meta.url));
const result = spawnSync(
  process.execPath,
  [vitest, 'run', '--config', 'vitest.bench.config.ts', ...files],
  { cwd: root, env, stdio: 'inherit' },
);
process.exit(result.status ?? 1);
