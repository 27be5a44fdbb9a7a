import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servers, sql, uniqueName } from '../test/support/db.js';
import { endpointOf } from '../test/support/config.js';
import { workDir } from '../test/support/cli.js';
import { runPgcopy } from './support.js';

const ROWS = Number(process.env.PGCOPY_BENCH_ROWS ?? 5_000_000);
const schema = uniqueName('bench_memory');
const q = `"${schema}"`;
const s = servers();

beforeAll(async () => {
  await sql(
    s.source,
    `
    CREATE SCHEMA ${q};
    CREATE TABLE ${q}.big (id bigint, sensor int, observed_at timestamptz, reading float8, label text);
    INSERT INTO ${q}.big SELECT g, g % 1000, '2026-01-01'::timestamptz + g * interval '1 second', g / 7.0, 'label ' || (g % 97)
      FROM generate_series(1, ${ROWS}) g;
    ANALYZE ${q}.big;
  `,
  );
  for (const target of [s.target1]) {
    await sql(
      target,
      `CREATE SCHEMA ${q}; CREATE UNLOGGED TABLE ${q}.big (id bigint, sensor int, observed_at timestamptz, reading float8, label text);`,
    );
  }
}, 900_000);

afterAll(async () => {
  await sql(s.source, `DROP SCHEMA ${q} CASCADE`);
  await sql(s.target1, `DROP SCHEMA ${q} CASCADE`);
});

describe('memory stays flat whatever the table size', () => {
  it(`copies ${ROWS.toLocaleString('en-US')} rows with a bounded peak RSS`, async () => {
    const work = await workDir({
      source: endpointOf(s.source, schema),
      targets: [{ name: 'db_1', ...endpointOf(s.target1, schema), tables: ['big'] }],
      options: { mode: 'truncate' },
    });
    try {
      const full = await runPgcopy(['run', '-c', work.file, '--table', 'big', '--quiet'], work.dir);
      // The same copy restricted to a tenth of the rows, for comparison.
      const count = Math.round(ROWS / 10);
      const tenth = await workDir({
        source: endpointOf(s.source, schema),
        targets: [
          {
            name: 'db_1',
            ...endpointOf(s.target1, schema),
            tables: [{ name: 'big', where: `id <= ${count}` }],
          },
        ],
        options: { mode: 'truncate' },
      });
      const fraction = await runPgcopy(['run', '-c', tenth.file, '--quiet'], tenth.dir);
      await tenth.cleanup();
      expect(full.code).toBe(0);
      expect(fraction.code).toBe(0);
      const { rows } = await sql(s.target1, `SELECT count(*)::int AS n FROM ${q}.big`);
      expect((rows[0] as { n: number }).n).toBe(count);
      const mb = (full.stdout.match(/([\d.]+) MB in/) ?? [])[1];
      process.stdout.write(
        `\nmemory: ${ROWS.toLocaleString('en-US')} rows (${mb ?? '?'} MB of COPY data) in ${full.seconds.toFixed(1)} s, peak RSS ${full.maxRssMb.toFixed(0)} MB;` +
          ` ${count.toLocaleString('en-US')} rows: peak RSS ${fraction.maxRssMb.toFixed(0)} MB\n`,
      );
      // Flat: ten times the rows must not need much more memory.
      expect(full.maxRssMb).toBeLessThan(fraction.maxRssMb * 1.5 + 50);
    } finally {
      await work.cleanup();
    }
  });
});
