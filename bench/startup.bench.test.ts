import { spawn } from 'node:child_process';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config, Mode } from '../src/config/types.js';
import { CopyInWriter } from '../src/copy/wire/copy-in-writer.js';
import { CopyOutReader } from '../src/copy/wire/copy-out-reader.js';
import { validateConfig } from '../src/config/validate.js';
import { run } from '../src/copy/run.js';
import { workDir } from '../test/support/cli.js';
import { endpointOf } from '../test/support/config.js';
import { servers, sql, tableDigest, uniqueName } from '../test/support/db.js';
import { LatencyProxy } from '../test/support/latency-proxy.js';
import type { ServerInfo } from '../test/support/server-info.js';
import { Results, type Goal, type Sample } from './results.js';
import { postmasterOf, runPgcopy, serverCpuSeconds } from './support.js';

/**
 * pgcopy's fixed and per-table costs: what a one-row `pgcopy run` costs from process start to
 * exit (against a bare Node start and `pgcopy --version`), what one more table costs on warm
 * connections at concurrency 1 (N small tables against one table of the same rows), and how many
 * round trips a table takes in each mode, counted by a proxy in front of each server. The ledger
 * is on, as by default. Ratios are taken in this run; `--quick` runs it in seconds.
 */
const QUICK = process.env.PGCOPY_BENCH_QUICK === '1';
const TABLES = Number(process.env.PGCOPY_BENCH_TABLES ?? 100);
const TABLE_ROWS = Number(process.env.PGCOPY_BENCH_TABLE_ROWS ?? 10_000);
const ROUNDS = Number(process.env.PGCOPY_BENCH_ROUNDS ?? 5);
/** Process starts are cheap: a few even in --quick, for a median. */
const START_ROUNDS = Math.max(ROUNDS, QUICK ? 3 : 7);
const RESULTS = fileURLToPath(new URL('./results/startup-latest.json', import.meta.url));
const MODES: readonly Mode[] = ['append', 'truncate', 'upsert'];

const schema = uniqueName('bench_startup');
const q = `"${schema}"`;
const s = servers();
const COLUMNS = `id bigint PRIMARY KEY, sensor int, observed_at timestamptz, reading float8, label text`;
const tables = Array.from({ length: TABLES }, (_, i) => `t${String(i).padStart(3, '0')}`);
const rowsSql = (from: number, to: number): string =>
  `SELECT g, g % 1000, '2026-01-01'::timestamptz + g * interval '1 second', g / 7.0,
     'label ' || md5(g::text) FROM generate_series(${from}, ${to}) g`;

const START = 'start-up';
const PER_TABLE = 'per table, concurrency 1';
const NODE = 'node, empty script';
const ONE_ROW = 'pgcopy run, one row';
const WHOLE = `1 table of ${(TABLES * TABLE_ROWS).toLocaleString('en-US')} rows`;
const MANY = `${TABLES} tables × ${TABLE_ROWS.toLocaleString('en-US')} rows`;
const FLOOR = 'a bare client, the same statements';
const FLOOR_WHOLE = `${FLOOR}: ${WHOLE}`;
const FLOOR_MANY = `${FLOOR}: ${MANY}`;
const results = new Results({ [START]: NODE, [PER_TABLE]: WHOLE, [FLOOR]: FLOOR_WHOLE });

const GOALS: readonly Goal[] = [
  { text: `${MANY} / ${WHOLE}, concurrency 1`, method: MANY, versus: WHOLE, atMost: 1.3 },
];

beforeAll(async () => {
  const create = ['one', 'whole', ...tables]
    .map((t) => `CREATE TABLE ${q}.${t} (${COLUMNS});`)
    .join('\n');
  await sql(
    s.source,
    `CREATE SCHEMA ${q}; ${create}
     INSERT INTO ${q}.one ${rowsSql(1, 1)};
     INSERT INTO ${q}.whole ${rowsSql(1, TABLES * TABLE_ROWS)};
     ${tables.map((t, i) => `INSERT INTO ${q}.${t} ${rowsSql(i * TABLE_ROWS + 1, (i + 1) * TABLE_ROWS)};`).join('\n')}`,
  );
  await sql(s.source, 'VACUUM (FREEZE, ANALYZE)');
  await sql(s.source, 'CHECKPOINT');
  await sql(s.target1, `CREATE SCHEMA ${q}; ${create}`);
}, 900_000);

afterAll(async () => {
  await sql(s.source, `DROP SCHEMA IF EXISTS ${q} CASCADE`);
  await sql(s.target1, `DROP SCHEMA IF EXISTS ${q} CASCADE`);
});

/** A process's wall and CPU seconds (the max-rss preload reports its CPU). */
function timeNode(args: string[]): Promise<Sample> {
  const preload = fileURLToPath(new URL('./max-rss.cjs', import.meta.url));
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, ['--require', preload, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => {
    child.once('exit', () =>
      resolve({
        seconds: Number(process.hrtime.bigint() - started) / 1e9,
        cpuSeconds: Number(/PGCOPY_CPU_US=(\d+)/.exec(stderr)?.[1] ?? NaN) / 1e6,
        maxRssMb: Number(/PGCOPY_MAX_RSS_KB=(\d+)/.exec(stderr)?.[1] ?? 0) / 1024,
      }),
    );
  });
}

const configOf = (
  names: readonly string[],
  mode: Mode,
  ports: { source?: number; target?: number } = {},
): Config => {
  const via = (server: ServerInfo, port: number | undefined): Record<string, unknown> => ({
    ...endpointOf(server, schema),
    ...(port === undefined ? {} : { port }),
  });
  return validateConfig({
    source: via(s.source, ports.source),
    targets: [{ name: 'db_1', ...via(s.target1, ports.target), tables: names }],
    options: { mode },
  });
};

const emptyTargets = (): Promise<unknown> =>
  sql(s.target1, `TRUNCATE ${['one', 'whole', ...tables].map((t) => `${q}.${t}`).join(', ')}`);

/**
 * The floor of the per-table cost: what pgcopy sends per table (binary COPY out, its query string
 * joining the exported snapshot first, alongside COPY FREEZE in, its query string beginning and
 * truncating first; the source rolls back while the target records the table and commits), sent
 * by a bare pg client through pgcopy's COPY streams and doing nothing else, one table after the
 * other on two warm connections. The ratio of its N tables to its one table is what the servers'
 * own per-table work leaves for any client.
 */
async function bareClientCopy(names: readonly string[]): Promise<Sample> {
  const connect = async (server: ServerInfo): Promise<pg.Client> => {
    const client = new pg.Client({ ...server, database: 'postgres' });
    await client.connect();
    return client;
  };
  const [holder, source, target] = await Promise.all([
    connect(s.source),
    connect(s.source),
    connect(s.target1),
  ]);
  try {
    await holder.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const { rows } = await holder.query<{ id: string }>('SELECT pg_export_snapshot() AS id');
    const snapshot = rows[0]?.id ?? '';
    await target.query('CREATE TEMP TABLE ledger (t text, n bigint, at timestamptz DEFAULT now())');
    const cpu = process.cpuUsage();
    const started = process.hrtime.bigint();
    for (const name of names) {
      await pipeline(
        source.query(
          new CopyOutReader(
            `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT '${snapshot}'; ` +
              `COPY ${q}.${name} TO STDOUT (FORMAT binary)`,
          ),
        ),
        target.query(
          new CopyInWriter(
            `BEGIN; TRUNCATE TABLE ONLY ${q}.${name}; COPY ${q}.${name} FROM STDIN (FORMAT binary, FREEZE)`,
          ),
        ),
      );
      await Promise.all([
        source.query('ROLLBACK'),
        target.query(`INSERT INTO ledger (t, n) VALUES ('${name}', 1); COMMIT`),
      ]);
    }
    const used = process.cpuUsage(cpu);
    return {
      seconds: Number(process.hrtime.bigint() - started) / 1e9,
      cpuSeconds: (used.user + used.system) / 1e6,
    };
  } finally {
    await Promise.all([holder.end(), source.end(), target.end()]);
  }
}

describe('fixed and per-table costs', () => {
  it(`one-row run; ${MANY} against ${WHOLE}; round trips per table by mode`, async () => {
    const work = await workDir({
      source: endpointOf(s.source, schema),
      targets: [{ name: 'db_1', ...endpointOf(s.target1, schema), tables: ['one'] }],
      options: { mode: 'truncate' },
    });
    const bin = fileURLToPath(new URL('../bin/pgcopy.js', import.meta.url));
    const postmasters = {
      source: await postmasterOf(s.source),
      target: await postmasterOf(s.target1),
    };
    const serverCpu = { [MANY]: [] as number[], [WHOLE]: [] as number[] };
    try {
      // A first run fills the compile cache (Node 22+) and the page cache: not counted.
      expect((await runPgcopy(['run', '-c', work.file, '--quiet'], work.dir)).code).toBe(0);
      for (let round = 0; round < START_ROUNDS; round++) {
        results.record(START, NODE, await timeNode(['-e', '']));
        results.record(START, 'pgcopy --version', await timeNode([bin, '--version']));
        const p = await runPgcopy(['run', '-c', work.file, '--quiet'], work.dir);
        expect(p.code, p.stderr).toBe(0);
        results.record(START, ONE_ROW, {
          seconds: p.seconds,
          cpuSeconds: p.cpuSeconds,
          maxRssMb: p.maxRssMb,
        });
      }

      // In this process, as the Lambda handler runs it: warm code, one plan and one snapshot each.
      const inProcess = async (name: string, names: readonly string[]): Promise<void> => {
        await emptyTargets();
        const cpu = process.cpuUsage();
        const servers0 =
          (await serverCpuSeconds(postmasters.source)) +
          (await serverCpuSeconds(postmasters.target));
        const started = process.hrtime.bigint();
        const { report } = await run(configOf(names, 'truncate'), { concurrency: 1 });
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        const used = process.cpuUsage(cpu);
        expect(report?.status).toBe('done');
        serverCpu[name]?.push(
          (await serverCpuSeconds(postmasters.source)) +
            (await serverCpuSeconds(postmasters.target)) -
            servers0,
        );
        results.record(PER_TABLE, name, {
          seconds,
          cpuSeconds: (used.user + used.system) / 1e6,
        });
      };
      await inProcess(WHOLE, ['whole']); // warms the code paths: not counted
      results.methods.delete(WHOLE);
      serverCpu[WHOLE] = [];
      for (let round = 0; round < ROUNDS; round++) {
        // The order alternates, so that neither always runs on a fresher server.
        const order = round % 2 === 0 ? [WHOLE, MANY] : [MANY, WHOLE];
        for (const name of order) await inProcess(name, name === WHOLE ? ['whole'] : tables);
      }
      const all = tables.map((t) => `SELECT '${t}' AS t, r.* FROM ${q}.${t} r`).join(' UNION ALL ');
      expect(await tableDigest(s.target1, all)).toEqual(await tableDigest(s.source, all));

      await results.measure(
        FLOOR,
        [
          { name: FLOOR_WHOLE, go: () => bareClientCopy(['whole']) },
          { name: FLOOR_MANY, go: () => bareClientCopy(tables) },
        ],
        { rounds: ROUNDS, reset: emptyTargets },
      );
      expect(await tableDigest(s.target1, all)).toEqual(await tableDigest(s.source, all));

      // Round trips: one table, then every table; the plan's own (constant in the table count,
      // since the catalogs are read for all tables at once) cancel out in the difference.
      const proxies = {
        source: await LatencyProxy.start(s.source),
        target: await LatencyProxy.start(s.target1),
      };
      const trips: string[] = [];
      try {
        const count = async (
          names: readonly string[],
          mode: Mode,
        ): Promise<{ source: number; target: number }> => {
          await emptyTargets();
          proxies.source.reset();
          proxies.target.reset();
          const { report } = await run(
            configOf(names, mode, { source: proxies.source.port, target: proxies.target.port }),
            { concurrency: 1 },
          );
          expect(report?.status).toBe('done');
          return {
            source: proxies.source.counts().roundTrips,
            target: proxies.target.counts().roundTrips,
          };
        };
        for (const mode of MODES) {
          const one = await count(tables.slice(0, 1), mode);
          const every = await count(tables, mode);
          const per = (side: 'source' | 'target'): number =>
            (every[side] - one[side]) / (TABLES - 1);
          trips.push(
            `  ${mode.padEnd(8)} ${(per('source') + per('target')).toFixed(1)} per table ` +
              `(source ${per('source').toFixed(1)}, target ${per('target').toFixed(1)}); ` +
              `a one-table run ${one.source + one.target} (source ${one.source}, target ${one.target})`,
          );
        }
      } finally {
        await proxies.source.stop();
        await proxies.target.stop();
      }

      const ms = (name: string, of: (x: Sample) => number = (x) => x.seconds): number =>
        results.median(name, of) * 1000;
      const perTable = (of?: (x: Sample) => number): string =>
        ((ms(MANY, of) - ms(WHOLE, of)) / (TABLES - 1)).toFixed(1);
      const serverMs = (name: string): number => {
        const values = [...(serverCpu[name] ?? [])].sort((a, b) => a - b);
        return (values[Math.floor(values.length / 2)] ?? NaN) * 1000;
      };
      const oneRow = results.median(ONE_ROW);
      const summary = [
        `one-row run: ${oneRow.toFixed(3)} s wall, ${results.median(ONE_ROW, (x) => x.cpuSeconds).toFixed(3)} s CPU ` +
          `(median of ${START_ROUNDS}; goal ≤ 0.15 s: ${oneRow <= 0.15 ? 'met' : 'not met'}); ` +
          `a bare node start ${results.median(NODE).toFixed(3)} s`,
        `${MANY} / ${WHOLE} from a bare client sending the same statements: ` +
          `${(results.median(FLOOR_MANY) / results.median(FLOOR_WHOLE)).toFixed(2)} ` +
          `(pgcopy: ${(results.median(MANY) / results.median(WHOLE)).toFixed(2)})`,
        `one more table at concurrency 1, warm connections: ${perTable()} ms wall (goal ≤ 5 ms), ` +
          `${perTable((x) => x.cpuSeconds)} ms pgcopy CPU, ` +
          `${((serverMs(MANY) - serverMs(WHOLE)) / (TABLES - 1)).toFixed(1)} ms the servers' CPU`,
        `round trips per table (ledger on, stream), COPY FROM counted as two (query, then data):`,
        ...trips,
        ...results.goals(GOALS),
      ];
      process.stdout.write(`\n${results.table()}\n\n${summary.join('\n')}\n`);
      await results.write(RESULTS, {
        at: new Date().toISOString(),
        quick: QUICK,
        tables: TABLES,
        tableRows: TABLE_ROWS,
        rounds: ROUNDS,
        startRounds: START_ROUNDS,
        postgres: { source: s.source.majorVersion, target: s.target1.majorVersion },
        summary,
      });
    } finally {
      await work.cleanup();
    }
  });
});
