import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servers, sql, tableDigest, uniqueName } from '../test/support/db.js';
import { endpointOf } from '../test/support/config.js';
import { workDir } from '../test/support/cli.js';
import type { ServerInfo } from '../test/support/server-info.js';
import { median, runPgcopy, timeShell, MIXED_COLUMNS, mixedRowsSql } from './support.js';

/**
 * Each strategy against `stream` on the same table, and each server-side strategy against the raw
 * SQL it runs (`INSERT ... SELECT` over dblink or postgres_fdw, typed into psql), in one run,
 * rounds alternating. Then postgres_fdw's fetch_size, to show why pgcopy sets it.
 */

const ROWS = Number(process.env.PGCOPY_BENCH_ROWS ?? 1_000_000);
const ROUNDS = Number(process.env.PGCOPY_BENCH_ROUNDS ?? 3);
const schema = uniqueName('bench_strategies');
const q = `"${schema}"`;
const s = servers();
const FETCH_SIZE = 10_000;
const BATCH_SIZE = 1_000;

const libpq = (server: ServerInfo): string =>
  `host=${server.host} port=${server.port} user=${server.user} password=${server.password} dbname=postgres sslmode=disable`;
const psql = (server: ServerInfo, command: string): string =>
  `psql -X -q -v ON_ERROR_STOP=1 "${libpq(server)}" -c "${command.replaceAll('"', '\\"')}"`;

beforeAll(async () => {
  await sql(
    s.source,
    `CREATE EXTENSION IF NOT EXISTS postgres_fdw SCHEMA public;
     CREATE SCHEMA ${q};
     CREATE TABLE ${q}.mixed (${MIXED_COLUMNS});
     INSERT INTO ${q}.mixed ${mixedRowsSql(ROWS)};
     CREATE SERVER bench_push FOREIGN DATA WRAPPER postgres_fdw
       OPTIONS (host '${s.target1.host}', port '${s.target1.port}', dbname 'postgres', batch_size '${BATCH_SIZE}');
     CREATE USER MAPPING FOR CURRENT_USER SERVER bench_push OPTIONS (user '${s.target1.user}', password '${s.target1.password}');
     CREATE FOREIGN TABLE ${q}.pushed (${MIXED_COLUMNS}) SERVER bench_push OPTIONS (schema_name '${schema}', table_name 'mixed');`,
  );
  await sql(s.source, `VACUUM (FREEZE, ANALYZE) ${q}.mixed`);
  await sql(
    s.target1,
    `CREATE EXTENSION IF NOT EXISTS postgres_fdw SCHEMA public;
     CREATE EXTENSION IF NOT EXISTS dblink SCHEMA public;
     CREATE SCHEMA ${q};
     CREATE TABLE ${q}.mixed (${MIXED_COLUMNS});
     CREATE SERVER bench_pull FOREIGN DATA WRAPPER postgres_fdw
       OPTIONS (host '${s.source.host}', port '${s.source.port}', dbname 'postgres', fetch_size '${FETCH_SIZE}');
     CREATE USER MAPPING FOR CURRENT_USER SERVER bench_pull OPTIONS (user '${s.source.user}', password '${s.source.password}');
     CREATE FOREIGN TABLE ${q}.pulled (${MIXED_COLUMNS}) SERVER bench_pull OPTIONS (schema_name '${schema}', table_name 'mixed');
     CHECKPOINT;`,
  );
}, 900_000);

afterAll(async () => {
  await sql(
    s.source,
    `DROP SCHEMA IF EXISTS ${q} CASCADE; DROP SERVER IF EXISTS bench_push CASCADE`,
  );
  await sql(
    s.target1,
    `DROP SCHEMA IF EXISTS ${q} CASCADE; DROP SERVER IF EXISTS bench_pull CASCADE`,
  );
});

describe('strategies: pgcopy against stream and against the raw SQL of each', () => {
  it(`copies ${ROWS.toLocaleString('en-US')} rows by every strategy`, async () => {
    const work = await Promise.all(
      (['stream', 'dblink', 'fdw', 'fdw-push'] as const).map(async (strategy) => ({
        strategy,
        dir: await workDir({
          source: endpointOf(s.source, schema),
          targets: [{ name: 'db_1', ...endpointOf(s.target1, schema), tables: ['mixed'] }],
          options: { mode: 'append', strategy },
        }),
      })),
    );
    const columns = MIXED_COLUMNS.split(', ')
      .map((c) => c.split(' ')[0])
      .join(', ');
    const raw: Record<string, string> = {
      'raw dblink': psql(
        s.target1,
        `INSERT INTO ${q}.mixed SELECT * FROM public.dblink('${libpq(s.source)}', 'SELECT ${columns} FROM ONLY ${q}.mixed') AS r(${MIXED_COLUMNS})`,
      ),
      'raw fdw': psql(s.target1, `INSERT INTO ${q}.mixed SELECT * FROM ${q}.pulled`),
      'raw fdw-push': psql(s.source, `INSERT INTO ${q}.pushed SELECT * FROM ONLY ${q}.mixed`),
    };
    const times = new Map<string, number[]>();
    const record = (name: string, seconds: number): void => {
      times.set(name, [...(times.get(name) ?? []), seconds]);
    };
    const expected = await tableDigest(s.source, `SELECT * FROM ${q}.mixed`);
    try {
      for (let round = 0; round < ROUNDS; round++) {
        for (const { strategy, dir } of work) {
          await sql(s.target1, `TRUNCATE ${q}.mixed; CHECKPOINT`);
          const p = await runPgcopy(['run', '-c', dir.file, '--quiet'], dir.dir);
          expect(p.code, p.stderr).toBe(0);
          record(strategy, p.seconds);
          if (round === 0) {
            expect(await tableDigest(s.target1, `SELECT * FROM ${q}.mixed`)).toEqual(expected);
          }
          const rawSql = raw[`raw ${strategy}`];
          if (rawSql === undefined) continue;
          await sql(s.target1, `TRUNCATE ${q}.mixed; CHECKPOINT`);
          const r = await timeShell(rawSql, {});
          expect(r.code, r.stderr).toBe(0);
          record(`raw ${strategy}`, r.seconds);
        }
      }
      // postgres_fdw's fetch_size: rows per round trip of the pull.
      for (const size of [100, 1_000, 10_000, 50_000]) {
        await sql(s.target1, `ALTER SERVER bench_pull OPTIONS (SET fetch_size '${size}')`);
        await sql(s.target1, `TRUNCATE ${q}.mixed; CHECKPOINT`);
        const r = await timeShell(raw['raw fdw'] ?? '', {});
        expect(r.code, r.stderr).toBe(0);
        record(`fetch_size ${size}`, r.seconds);
      }
    } finally {
      await Promise.all(work.map((w) => w.dir.cleanup()));
    }
    const m = (name: string): number => median(times.get(name) ?? []);
    const lines = [...times.keys()].map((name) => {
      const all = (times.get(name) ?? []).map((x) => x.toFixed(2)).join(', ');
      const vsStream = name.startsWith('fetch')
        ? ''
        : `  ${(m(name) / m('stream')).toFixed(2)}x stream`;
      const vsRaw = times.has(`raw ${name}`)
        ? `  ${(m(name) / m(`raw ${name}`)).toFixed(2)}x its raw SQL`
        : '';
      return `  ${name.padEnd(16)} median ${m(name).toFixed(2)} s [${all}]${vsStream}${vsRaw}`;
    });
    process.stdout.write(
      `\nstrategies: ${ROWS.toLocaleString('en-US')} rows, ${ROUNDS} rounds alternating\n${lines.join('\n')}\n`,
    );
    // The goal is 1.1; a run of pgcopy carries a fixed cost its raw SQL does not (process start,
    // plan, snapshot: about 0.3 s). The guard catches a regression beyond that.
    for (const strategy of ['dblink', 'fdw', 'fdw-push']) {
      expect(m(strategy) / m(`raw ${strategy}`)).toBeLessThan(1.25);
    }
  });
});
