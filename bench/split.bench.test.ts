import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalPostgres } from '../src/demo/local-postgres.js';
import { workDir } from '../test/support/cli.js';
import { endpointOf } from '../test/support/config.js';
import { servers, sql, uniqueName } from '../test/support/db.js';
import type { ServerInfo } from '../test/support/server-info.js';
import { startPreparingTarget } from '../test/support/prepared-target.js';
import { median, runPgcopy, timeShell, MIXED_COLUMNS, mixedRowsSql } from './support.js';

/**
 * options.split on two parts against one stream and the psql text pipe, and the other design the
 * issue names (parts loaded in parallel into an unlogged staging table, then moved into the
 * target in one transaction), measured as raw SQL: what it would cost at best. The target is a
 * server of this file's own: splitting needs max_prepared_transactions, which the suite's lack.
 */
const ROWS = Number(process.env.PGCOPY_BENCH_ROWS ?? 2_000_000);
const ROUNDS = Number(process.env.PGCOPY_BENCH_ROUNDS ?? 3);
const schema = uniqueName('bench_split');
const q = `"${schema}"`;
const s = servers();
let own: LocalPostgres;
let target: ServerInfo;

beforeAll(async () => {
  ({ server: own, info: target } = await startPreparingTarget('bench-split-target'));
  await sql(
    s.source,
    `CREATE SCHEMA ${q};
     CREATE TABLE ${q}.mixed (${MIXED_COLUMNS});
     INSERT INTO ${q}.mixed ${mixedRowsSql(ROWS)};`,
  );
  await sql(s.source, `VACUUM (FREEZE, ANALYZE) ${q}.mixed`);
  await sql(
    target,
    `CREATE SCHEMA ${q}; CREATE TABLE ${q}.mixed (${MIXED_COLUMNS});
     CREATE UNLOGGED TABLE ${q}.staging (${MIXED_COLUMNS});`,
  );
}, 900_000);

afterAll(async () => {
  await sql(s.source, `DROP SCHEMA ${q} CASCADE`);
  await own.stop();
});

const conn = (server: ServerInfo): string =>
  `host=${server.host} port=${server.port} user=${server.user} dbname=postgres sslmode=disable`;
const env = (): Record<string, string> => ({
  SRC_PW: s.source.password,
  DST_PW: target.password,
});
const pipe = (select: string, into: string): string =>
  `PGPASSWORD=$SRC_PW psql -X -q "${conn(s.source)}" -c "\\copy (${select}) TO STDOUT" | ` +
  `PGPASSWORD=$DST_PW psql -X -q -v ON_ERROR_STOP=1 "${conn(target)}" -c "\\copy ${into} FROM STDIN"`;

describe('options.split: same-table parallelism', () => {
  it(`copies ${ROWS.toLocaleString('en-US')} mixed rows in two parts`, async () => {
    const { rows } = await sql(
      s.source,
      `SELECT (pg_relation_size('${q}.mixed') / current_setting('block_size')::int / 2)::int AS half`,
    );
    const half = (rows[0] as { half: number }).half;
    const halves = [`ctid < '(${half},0)'`, `ctid >= '(${half},0)'`].map(
      (range) => `SELECT * FROM ${q}.mixed WHERE ${range}`,
    );
    const config = (split: boolean) =>
      workDir({
        source: endpointOf(s.source, schema),
        targets: [{ name: 'db_1', ...endpointOf(target, schema), tables: ['mixed'] }],
        options: {
          mode: 'append',
          concurrency: 2,
          ...(split ? { split: { minBytes: '1MB', parts: 2 } } : {}),
        },
      });
    const [one, split] = await Promise.all([config(false), config(true)]);
    const methods: Record<string, () => Promise<number>> = {
      'psql text pipe': async () => {
        const r = await timeShell(pipe(`SELECT * FROM ${q}.mixed`, `${q}.mixed`), env());
        expect(r.code, r.stderr).toBe(0);
        return r.seconds;
      },
      'pgcopy, one stream': async () => {
        const r = await runPgcopy(['run', '-c', one.file, '--quiet'], one.dir);
        expect(r.code, r.stderr).toBe(0);
        return r.seconds;
      },
      'pgcopy, split on 2 parts': async () => {
        const r = await runPgcopy(['run', '-c', split.file, '--quiet'], split.dir);
        expect(r.code, r.stderr).toBe(0);
        return r.seconds;
      },
      'staging: 2 text pipes into an unlogged table, then INSERT ... SELECT': async () => {
        const started = process.hrtime.bigint();
        const parts = await Promise.all(
          halves.map((select) => timeShell(pipe(select, `${q}.staging`), env())),
        );
        for (const p of parts) expect(p.code, p.stderr).toBe(0);
        await sql(target, `INSERT INTO ${q}.mixed SELECT * FROM ${q}.staging`);
        return Number(process.hrtime.bigint() - started) / 1e9;
      },
    };
    const times = new Map<string, number[]>(Object.keys(methods).map((m) => [m, []]));
    try {
      for (let round = 0; round < ROUNDS; round++) {
        // Alternate the order, so that no method always runs on a warmer (or busier) machine.
        const names = Object.keys(methods);
        for (const name of round % 2 === 0 ? names : names.reverse()) {
          await sql(target, `TRUNCATE ${q}.mixed, ${q}.staging`);
          await sql(target, 'CHECKPOINT');
          const seconds = await (methods[name] as () => Promise<number>)();
          times.get(name)?.push(seconds);
          const copied = await sql(target, `SELECT count(*)::int AS n FROM ${q}.mixed`);
          expect(copied.rows[0], name).toEqual({ n: ROWS });
        }
      }
    } finally {
      await Promise.all([one.cleanup(), split.cleanup()]);
    }
    const baseline = median(times.get('psql text pipe') ?? []);
    let out = `\nsplit: ${ROWS.toLocaleString('en-US')} mixed rows, ${ROUNDS} rounds, median wall seconds (ratio to the psql text pipe)\n`;
    for (const [name, values] of times) {
      out += `  ${name.padEnd(70)} ${median(values).toFixed(2)} s  ${(median(values) / baseline).toFixed(2)}  [${values.map((v) => v.toFixed(2)).join(', ')}]\n`;
    }
    process.stdout.write(out);
  });
});
