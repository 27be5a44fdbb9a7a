import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../src/config/types.js';
import { validateConfig } from '../src/config/validate.js';
import { run } from '../src/copy/run.js';
import { workDir } from '../test/support/cli.js';
import { endpointOf } from '../test/support/config.js';
import { servers, sql, tableDigest, uniqueName } from '../test/support/db.js';
import type { ServerInfo } from '../test/support/server-info.js';
import { LatencyProxy, type ProxyCounts } from '../test/support/latency-proxy.js';
import { median, timeShell } from './support.js';

/**
 * What a table costs on a network: 100 small tables copied through a loopback proxy in front of
 * each server, without and with a delay each way, against the same rows as one table, against
 * sequential `psql | psql` pipes (a connection pair per table) and against pgcopydb where
 * installed. Figures are printed, medians of alternating rounds; nothing here is asserted on time.
 */
const TABLES = Number(process.env.PGCOPY_BENCH_TABLES ?? 100);
const ROWS_PER_TABLE = Number(process.env.PGCOPY_BENCH_TABLE_ROWS ?? 10_000);
const DELAY_MS = Number(process.env.PGCOPY_BENCH_DELAY_MS ?? 5);
const ROUNDS = Number(process.env.PGCOPY_BENCH_ROUNDS ?? 3);
const schema = uniqueName('bench_latency');
const q = `"${schema}"`;
const s = servers();
const COLUMNS = `id bigint, sensor int, observed_at timestamptz, reading float8, amount numeric(12,2), label text, flags bool`;
const tables = Array.from({ length: TABLES }, (_, i) => `t${i}`);
const HALF = Math.floor(TABLES / 2);
const pgcopydb = spawnSync('pgcopydb', ['--version'], { stdio: 'ignore' }).status === 0;

interface Figures {
  seconds: number[];
  counts: { source: ProxyCounts; target: ProxyCounts } | undefined;
}

const rowsSql = (from: number, to: number): string =>
  `SELECT g, g % 1000, '2026-01-01'::timestamptz + g * interval '1 second', g / 7.0,
     (g % 100000) / 100.0, 'label ' || md5(g::text), g % 2 = 0 FROM generate_series(${from}, ${to}) g`;

beforeAll(async () => {
  const create = [...tables, 'whole'].map((t) => `CREATE TABLE ${q}.${t} (${COLUMNS});`).join('\n');
  await sql(
    s.source,
    `CREATE SCHEMA ${q}; ${create}
     ${tables.map((t, i) => `INSERT INTO ${q}.${t} ${rowsSql(i * ROWS_PER_TABLE + 1, (i + 1) * ROWS_PER_TABLE)};`).join('\n')}
     INSERT INTO ${q}.whole ${rowsSql(1, TABLES * ROWS_PER_TABLE)};`,
  );
  await sql(s.source, `VACUUM (FREEZE, ANALYZE)`);
  await sql(s.source, `CHECKPOINT`);
  await sql(s.target1, `CREATE SCHEMA ${q}; ${create}`);
}, 900_000);

afterAll(async () => {
  await sql(s.source, `DROP SCHEMA ${q} CASCADE`);
  await sql(s.target1, `DROP SCHEMA ${q} CASCADE`);
});

describe('per-table cost on a network: a latency proxy in front of each server', () => {
  it(`copies ${TABLES} tables of ${ROWS_PER_TABLE.toLocaleString('en-US')} rows, with and without ${DELAY_MS} ms each way`, async () => {
    const proxies = {
      source: await LatencyProxy.start(s.source),
      target: await LatencyProxy.start(s.target1),
    };
    const work = await workDir('');
    try {
      const via = (server: ServerInfo, proxy: LatencyProxy): Record<string, unknown> => ({
        ...endpointOf(server, schema),
        port: proxy.port,
      });
      const config = (names: readonly string[]): Config =>
        validateConfig({
          source: via(s.source, proxies.source),
          targets: [{ name: 'db_1', ...via(s.target1, proxies.target), tables: names }],
          options: { mode: 'truncate' },
        });
      const conn = (server: ServerInfo, proxy: LatencyProxy): string =>
        `host=127.0.0.1 port=${proxy.port} user=${server.user} dbname=postgres sslmode=disable`;
      // What people script without pgcopy: a psql pair per table, the target truncated and
      // loaded in one transaction.
      const psqlPipes =
        `for t in ${tables.join(' ')}; do ` +
        `PGPASSWORD=$SRC_PW psql -X -q "${conn(s.source, proxies.source)}" -c "\\copy ${q}.$t TO STDOUT" | ` +
        `PGPASSWORD=$DST_PW psql -X -q -1 -v ON_ERROR_STOP=1 "${conn(s.target1, proxies.target)}" ` +
        `-c "TRUNCATE ${q}.$t" -c "\\copy ${q}.$t FROM STDIN" || exit 1; done`;
      const env = { SRC_PW: s.source.password, DST_PW: s.target1.password };
      const filters = join(work.dir, 'filters.ini');
      await writeFile(
        filters,
        `[include-only-table]\n${tables.map((t) => `${schema}.${t}`).join('\n')}\n`,
      );
      const uri = (server: ServerInfo, proxy: LatencyProxy): string =>
        `postgres://${encodeURIComponent(server.user)}:${encodeURIComponent(server.password)}@127.0.0.1:${proxy.port}/postgres?sslmode=disable`;
      let pgcopydbRun = 0;
      const pgcopydbCommand = (jobs: number): string =>
        `pgcopydb copy table-data --source "${uri(s.source, proxies.source)}" --target "${uri(s.target1, proxies.target)}" ` +
        `--table-jobs ${jobs} --filters ${filters} --dir ${join(work.dir, `pgcopydb-${++pgcopydbRun}`)} > /dev/null 2>&1`;

      const scenarios: Record<string, { delay: number; go: () => Promise<void> }> = {};
      const pgcopy = (names: readonly string[], concurrency: number) => async () => {
        const { report } = await run(config(names), { concurrency });
        expect(report?.status).toBe('done');
      };
      const shell = (command: () => string) => async () => {
        const result = await timeShell(command(), env);
        expect(result.code, result.stderr).toBe(0);
      };
      for (const delay of [0, DELAY_MS]) {
        const tag = delay === 0 ? 'loopback' : `+${delay} ms each way`;
        if (delay === 0) {
          scenarios[`${tag}: pgcopy, the same rows as 1 table`] = {
            delay,
            go: pgcopy(['whole'], 1),
          };
        }
        if (delay === 0) {
          // Against the full run, tells one more table's round trips from the run's fixed ones.
          scenarios[`${tag}: pgcopy ${HALF} tables, concurrency 1`] = {
            delay,
            go: pgcopy(tables.slice(0, HALF), 1),
          };
        }
        for (const c of delay === 0 ? [1, 2, 4] : [1, 4]) {
          scenarios[`${tag}: pgcopy ${TABLES} tables, concurrency ${c}`] = {
            delay,
            go: pgcopy(tables, c),
          };
        }
        scenarios[`${tag}: psql | psql ${TABLES} tables, sequential`] = {
          delay,
          go: shell(() => psqlPipes),
        };
        if (pgcopydb) {
          for (const c of [1, 4]) {
            scenarios[`${tag}: pgcopydb ${TABLES} tables, --table-jobs ${c}`] = {
              delay,
              go: shell(() => pgcopydbCommand(c)),
            };
          }
        }
      }
      const figures = new Map<string, Figures>(
        Object.keys(scenarios).map((k) => [k, { seconds: [], counts: undefined }]),
      );
      for (let round = 0; round < ROUNDS; round++) {
        for (const [name, scenario] of Object.entries(scenarios)) {
          proxies.source.delayMs = proxies.target.delayMs = scenario.delay;
          await sql(s.target1, tables.map((t) => `TRUNCATE ${q}.${t};`).join(' '));
          proxies.source.reset();
          proxies.target.reset();
          const started = process.hrtime.bigint();
          await scenario.go();
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          const entry = figures.get(name);
          entry?.seconds.push(seconds);
          if (entry) {
            entry.counts = {
              source: proxies.source.counts(),
              target: proxies.target.counts(),
            };
          }
        }
      }
      const all = tables.map((t) => `SELECT '${t}' AS t, r.* FROM ${q}.${t} r`).join(' UNION ALL ');
      expect(await tableDigest(s.target1, all)).toEqual(await tableDigest(s.source, all));

      // The plan's own round trips and connections (catalog reads), to tell them from the copy's.
      proxies.source.delayMs = proxies.target.delayMs = 0;
      const planCost = async (names: readonly string[]): Promise<number> => {
        proxies.source.reset();
        proxies.target.reset();
        await run(config(names), { dryRun: true });
        return proxies.source.counts().roundTrips + proxies.target.counts().roundTrips;
      };
      const plan = { full: await planCost(tables), half: await planCost(tables.slice(0, HALF)) };

      const medianOf = (name: string): number => median(figures.get(name)?.seconds ?? []);
      const tripsOf = (name: string): number => {
        const c = figures.get(name)?.counts;
        return c ? c.source.roundTrips + c.target.roundTrips : NaN;
      };
      const lines = [...figures].map(([name, f]) => {
        const c = f.counts;
        const count = Number(/ (\d+) tables/.exec(name)?.[1] ?? 1);
        return (
          `  ${name.padEnd(52)} median ${medianOf(name).toFixed(2).padStart(6)} s ` +
          `[${f.seconds.map((x) => x.toFixed(2)).join(', ')}]; connections source ${c?.source.connections ?? '?'}, ` +
          `target ${c?.target.connections ?? '?'}; round trips per table ${(tripsOf(name) / count).toFixed(1)}`
        );
      });
      const loop = 'loopback';
      const far = `+${DELAY_MS} ms each way`;
      const warm =
        (tripsOf(`${loop}: pgcopy ${TABLES} tables, concurrency 1`) -
          plan.full -
          (tripsOf(`${loop}: pgcopy ${HALF} tables, concurrency 1`) - plan.half)) /
        (TABLES - HALF);
      const ratio = (a: string, b: string): string => (medianOf(a) / medianOf(b)).toFixed(2);
      process.stdout.write(
        `\nlatency: ${TABLES} tables x ${ROWS_PER_TABLE.toLocaleString('en-US')} rows, truncate mode, ` +
          `medians of ${ROUNDS} alternating rounds; counts include the plan ` +
          `(pgcopy's plan alone: 1 connection per server, ${plan.full} round trips for ${TABLES} tables, ${plan.half} for ${HALF})` +
          `${pgcopydb ? '' : '; pgcopydb not installed'}\n${lines.join('\n')}\n` +
          `  ratios: ${TABLES} tables at concurrency 1 / 1 table = ${ratio(`${loop}: pgcopy ${TABLES} tables, concurrency 1`, `${loop}: pgcopy, the same rows as 1 table`)}; ` +
          `concurrency 2 / sequential psql = ${ratio(`${loop}: pgcopy ${TABLES} tables, concurrency 2`, `${loop}: psql | psql ${TABLES} tables, sequential`)}; ` +
          `concurrency 4 with delay / without = ${ratio(`${far}: pgcopy ${TABLES} tables, concurrency 4`, `${loop}: pgcopy ${TABLES} tables, concurrency 4`)}\n` +
          `  round trips of one more table on warm connections (COPY FROM counted as its two: query, then data): ${warm.toFixed(1)}\n`,
      );
    } finally {
      await proxies.source.stop();
      await proxies.target.stop();
      await work.cleanup();
    }
  });
});
