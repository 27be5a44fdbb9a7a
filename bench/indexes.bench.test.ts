import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servers, sql, uniqueName } from '../test/support/db.js';
import type { ServerInfo } from '../test/support/server-info.js';
import { median, timeShell, MIXED_COLUMNS, mixedRowsSql } from './support.js';

/**
 * Whether dropping a big target's secondary indexes and building them again after the load, in the
 * same transaction, would pay: the same truncate-and-load through psql into a table with a primary
 * key and two secondary indexes, once keeping the indexes, once dropping the secondary ones first
 * and creating them again before COMMIT.
 */
const ROWS = Number(process.env.PGCOPY_BENCH_ROWS ?? 2_000_000);
const ROUNDS = Number(process.env.PGCOPY_BENCH_ROUNDS ?? 3);
const schema = uniqueName('bench_indexes');
const q = `"${schema}"`;
const s = servers();
const COLUMNS = `${MIXED_COLUMNS}, PRIMARY KEY (id)`;
const INDEXES = [
  `CREATE INDEX mixed_sensor ON ${q}.mixed (sensor)`,
  `CREATE INDEX mixed_observed ON ${q}.mixed (observed_at)`,
];

beforeAll(async () => {
  await sql(
    s.source,
    `CREATE SCHEMA ${q};
     CREATE TABLE ${q}.mixed (${COLUMNS});
     INSERT INTO ${q}.mixed ${mixedRowsSql(ROWS)};`,
  );
  await sql(s.source, `VACUUM (FREEZE, ANALYZE) ${q}.mixed`);
  await sql(
    s.target1,
    `CREATE SCHEMA ${q}; CREATE TABLE ${q}.mixed (${COLUMNS}); ${INDEXES.join('; ')}`,
  );
}, 900_000);

afterAll(async () => {
  await sql(s.source, `DROP SCHEMA ${q} CASCADE`);
  await sql(s.target1, `DROP SCHEMA ${q} CASCADE`);
});

const conn = (server: ServerInfo): string =>
  `host=${server.host} port=${server.port} user=${server.user} dbname=postgres sslmode=disable`;

/** One psql pipe: the target side runs `before`, the COPY and `after` in one transaction. */
function pipe(before: string[], after: string[]): string {
  const target = [
    'BEGIN',
    `TRUNCATE ${q}.mixed`,
    ...before,
    `\\copy ${q}.mixed FROM STDIN (FORMAT binary)`,
    ...after,
    'COMMIT',
  ];
  return (
    `PGPASSWORD=$SRC_PW psql -X -q "${conn(s.source)}" -c "\\copy ${q}.mixed TO STDOUT (FORMAT binary)" | ` +
    `PGPASSWORD=$DST_PW psql -X -q -v ON_ERROR_STOP=1 "${conn(s.target1)}" ` +
    target.map((c) => `-c "${c}"`).join(' ')
  );
}

describe('secondary indexes on a big target: kept during the load, or rebuilt after it', () => {
  it(`loads ${ROWS.toLocaleString('en-US')} rows both ways`, async () => {
    const methods: Record<string, string> = {
      'indexes kept during the load': pipe([], []),
      'secondary indexes dropped, then created again': pipe(
        [`DROP INDEX ${q}.mixed_sensor, ${q}.mixed_observed`],
        INDEXES,
      ),
    };
    const times = new Map<string, number[]>();
    const env = { SRC_PW: s.source.password, DST_PW: s.target1.password };
    for (let round = 0; round < ROUNDS; round++) {
      const names = Object.keys(methods);
      for (const name of round % 2 === 0 ? names : names.reverse()) {
        await sql(s.target1, 'CHECKPOINT');
        const r = await timeShell(methods[name] ?? '', env);
        expect(r.code, r.stderr).toBe(0);
        times.set(name, [...(times.get(name) ?? []), r.seconds]);
        const { rows } = await sql(
          s.target1,
          `SELECT count(*)::int AS n, (SELECT count(*)::int FROM pg_catalog.pg_indexes
              WHERE schemaname = '${schema}' AND tablename = 'mixed') AS indexes FROM ${q}.mixed`,
        );
        expect(rows[0]).toEqual({ n: ROWS, indexes: 3 });
      }
    }
    const kept = median(times.get('indexes kept during the load') ?? []);
    process.stdout.write(
      `\nsecondary indexes: ${ROWS.toLocaleString('en-US')} rows, ${ROUNDS} rounds alternating, medians\n` +
        [...times]
          .map(
            ([name, all]) =>
              `  ${name.padEnd(48)} ${median(all).toFixed(2)} s  ${(median(all) / kept).toFixed(2)}`,
          )
          .join('\n') +
        '\n',
    );
  });
});
