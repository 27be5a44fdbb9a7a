import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servers, sql, tableDigest, uniqueName } from '../test/support/db.js';
import { endpointOf } from '../test/support/config.js';
import { workDir } from '../test/support/cli.js';
import { median, runPgcopy, timeShell } from './support.js';

const ROWS = Number(process.env.PGCOPY_BENCH_ROWS ?? 1_000_000);
const ROUNDS = 3;
const schema = uniqueName('bench_throughput');
const q = `"${schema}"`;
const s = servers();
const COLUMNS = `id bigint, sensor int, observed_at timestamptz, reading float8, amount numeric(12,2), label text, flags bool, day date`;

beforeAll(async () => {
  await sql(
    s.source,
    `
    CREATE SCHEMA ${q};
    CREATE TABLE ${q}.mixed (${COLUMNS});
    INSERT INTO ${q}.mixed SELECT g, g % 1000, '2026-01-01'::timestamptz + g * interval '1 second', g / 7.0, (g % 100000) / 100.0,
      'label ' || md5(g::text), g % 2 = 0, '2020-01-01'::date + g % 2000
      FROM generate_series(1, ${ROWS}) g;
    ANALYZE ${q}.mixed;
  `,
  );
  await sql(s.target1, `CREATE SCHEMA ${q}; CREATE TABLE ${q}.mixed (${COLUMNS});`);
}, 900_000);

afterAll(async () => {
  await sql(s.source, `DROP SCHEMA ${q} CASCADE`);
  await sql(s.target1, `DROP SCHEMA ${q} CASCADE`);
});

describe('throughput against a psql | psql pipe (same run, same tables)', () => {
  it(`copies ${ROWS.toLocaleString('en-US')} mixed rows at least about as fast as the baseline`, async () => {
    const work = await workDir({
      source: endpointOf(s.source, schema),
      targets: [{ name: 'db_1', ...endpointOf(s.target1, schema), tables: ['mixed'] }],
      options: { mode: 'append' },
    });
    const conn = (server: typeof s.source): string =>
      `host=${server.host} port=${server.port} user=${server.user} dbname=postgres sslmode=disable`;
    const pipe =
      `PGPASSWORD=$SRC_PW psql -X -q "${conn(s.source)}" -c "\\copy ${q}.mixed TO STDOUT" | ` +
      `PGPASSWORD=$DST_PW psql -X -q -v ON_ERROR_STOP=1 "${conn(s.target1)}" -c "\\copy ${q}.mixed FROM STDIN"`;
    const env = { SRC_PW: s.source.password, DST_PW: s.target1.password };
    const baseline: number[] = [];
    const pgcopy: number[] = [];
    try {
      for (let round = 0; round < ROUNDS; round++) {
        await sql(s.target1, `TRUNCATE ${q}.mixed`);
        const b = await timeShell(pipe, env);
        expect(b.code, b.stderr).toBe(0);
        baseline.push(b.seconds);
        await sql(s.target1, `TRUNCATE ${q}.mixed`);
        const p = await runPgcopy(['run', '-c', work.file, '--quiet'], work.dir);
        expect(p.code, p.stderr).toBe(0);
        pgcopy.push(p.seconds);
      }
      expect(await tableDigest(s.target1, `SELECT * FROM ${q}.mixed`)).toEqual(
        await tableDigest(s.source, `SELECT * FROM ${q}.mixed`),
      );
    } finally {
      await work.cleanup();
    }
    const ratio = median(pgcopy) / median(baseline);
    process.stdout.write(
      `\nthroughput: ${ROWS.toLocaleString('en-US')} rows; psql | psql median ${median(baseline).toFixed(2)} s ` +
        `[${baseline.map((x) => x.toFixed(2)).join(', ')}]; pgcopy (whole process: plan, snapshot, copy) median ` +
        `${median(pgcopy).toFixed(2)} s [${pgcopy.map((x) => x.toFixed(2)).join(', ')}]; ratio ${ratio.toFixed(2)}\n`,
    );
    expect(ratio).toBeLessThan(1.25);
  });
});
