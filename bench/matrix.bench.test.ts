import { spawnSync } from 'node:child_process';
import { chmod, mkdir, stat, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { debianPg15BinDir } from '../src/demo/binaries.js';
import { startLocalPostgres, type LocalPostgres } from '../src/demo/local-postgres.js';
import { workDir } from '../test/support/cli.js';
import { endpointOf } from '../test/support/config.js';
import { servers, sql, uniqueName } from '../test/support/db.js';
import { LatencyProxy, type ProxyCounts } from '../test/support/latency-proxy.js';
import type { ServerInfo } from '../test/support/server-info.js';
import { createTable, MIXED, SHAPES, tableNames, type Shape } from './matrix-shapes.js';
import { Results, type Goal, type Method, type ResultRow, type Sample } from './results.js';
import { postmasterOf, rowsDigest, runPgcopy, serversCpuSeconds, timeShell } from './support.js';

/**
 * The performance matrix: every table shape on every server pair by every method, in one run,
 * the order of the methods alternating between rounds; after each run the target's row count and
 * digest are checked against the source's. Beside the wall time it reports where the CPU went: the
 * client processes (pgcopy; the psql pair) and each server's backends, read from /proc (the
 * postmaster's own, its children's and its reaped children's CPU, before and after the run). The
 * ratios are taken against the psql binary pipe and against the target's ingest limit: the server
 * loading a binary file of the same rows from its own disk. `npm run bench -- --quick` runs it on
 * tiny sizes, where the checks are the point.
 */

const QUICK = process.env.PGCOPY_BENCH_QUICK === '1';
const env = process.env;
const ROWS = Number(env.PGCOPY_BENCH_MATRIX_ROWS ?? (QUICK ? 2_000 : 1_000_000));
/** Rows of the bytea shape (1-100 KB each, ~50 KB on average): a hundredth of the others by default. */
const BYTEA_ROWS = Number(
  env.PGCOPY_BENCH_MATRIX_BYTEA_ROWS ?? Math.max(10, Math.round(ROWS / 100)),
);
const TABLES = Number(env.PGCOPY_BENCH_MATRIX_TABLES ?? (QUICK ? 10 : 100));
const TABLE_ROWS = Number(env.PGCOPY_BENCH_MATRIX_TABLE_ROWS ?? (QUICK ? 200 : 10_000));
const ROUNDS = Number(env.PGCOPY_BENCH_ROUNDS ?? 5);
/** `--only RE`: the methods to measure (all by default). */
const ONLY = new RegExp(env.PGCOPY_BENCH_ONLY ?? '');
/** Comma-separated shape names to measure (all by default). */
const SHAPE_NAMES = env.PGCOPY_BENCH_MATRIX_SHAPES?.split(',');
const RESULTS = fileURLToPath(
  new URL(`./results/${env.PGCOPY_BENCH_MATRIX_RESULTS ?? 'matrix-latest'}.json`, import.meta.url),
);
const LONG = 6 * 3600_000;

const schema = uniqueName('bench_matrix');
const q = `"${schema}"`;
const s = servers();
const pgcopydb = spawnSync('pgcopydb', ['--version'], { stdio: 'ignore' }).status === 0;
const shapes = SHAPES.filter((shape) => !SHAPE_NAMES || SHAPE_NAMES.includes(shape.name));
const rowsOf = (shape: Shape): number => (shape.name === 'bytea' ? BYTEA_ROWS : ROWS);

const PAIR_17 = 'PG 17 → 17';
const PAIR_15 = 'PG 15 → 15';
const METHOD = {
  text: 'psql text pipe',
  binary: 'psql binary pipe',
  ingest: 'ingest limit',
  pgcopydb: 'pgcopydb',
  pgcopy: 'pgcopy run',
} as const;
const MANY = `${TABLES} tables vs 1 table`;
const ONE_TABLE = `pgcopy, 1 table of ${(TABLES * TABLE_ROWS).toLocaleString('en-US')} rows`;
const MANY_TABLES = `pgcopy, ${TABLES} tables × ${TABLE_ROWS.toLocaleString('en-US')} rows, concurrency 1`;

const section = (pair: string, shape: Shape): string => `${pair} ${shape.name}`;
/** pgcopy's fixed cost on a pair (process start, plan, snapshot, ledger): a run of one row. */
const FIXED = 'fixed cost';
const oneRow = (pair: string): string => `${pair} ${FIXED}: pgcopy run, one row`;
const named = (pair: string, shape: Shape, method: string): string =>
  `${section(pair, shape)}: ${method}`;
const results = new Results(
  Object.fromEntries(
    [PAIR_17, PAIR_15].flatMap((pair) =>
      SHAPES.map((shape) => [section(pair, shape), named(pair, shape, METHOD.binary)]),
    ),
  ),
);
const notes: string[] = [];

/** A source and a target, with their postmasters' pids (undefined: not on this machine). */
interface Pair {
  readonly name: string;
  readonly source: ServerInfo;
  readonly target: ServerInfo;
  readonly sourcePostmaster: number | undefined;
  readonly targetPostmaster: number | undefined;
}

let work: { dir: string; cleanup: () => Promise<void> };
let pg15Target: LocalPostgres | undefined;
const pairs: Pair[] = [];
let roundTrips: Record<string, unknown> = {};
/** Megabytes of each pair and shape's rows as binary COPY (the ingest limit's file). */
const binaryMb: Record<string, number> = {};
let runs = 0;

// --- shell commands, as a user would type them ------------------------------------------------
const libpq = (server: ServerInfo, port = server.port): string =>
  `host=${server.host} port=${port} user=${server.user} dbname=postgres sslmode=disable`;
const quoted = (text: string): string =>
  `"${text.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('$', '\\$')}"`;
const psql = (conn: string, password: string, ...commands: string[]): string =>
  `PGPASSWORD=$${password} psql -X -q -v ON_ERROR_STOP=1 ${quoted(conn)} ${commands.map((c) => `-c ${quoted(c)}`).join(' ')}`;
/** What COPY TO reads: a partitioned table only through a query. */
const copySource = (shape: Shape): string =>
  shape.partitioned ? `(SELECT * FROM ${q}.${shape.name})` : `${q}.${shape.name}`;
/** `psql | psql`: the target truncated and loaded in one transaction, like pgcopy's truncate mode. */
const pipe = (pair: Pair, shape: Shape, binary: boolean): string => {
  const format = binary ? ' WITH (FORMAT binary)' : '';
  return (
    `${psql(libpq(pair.source), 'SRC_PW', `\\copy ${copySource(shape)} TO STDOUT${format}`)} | ` +
    psql(
      libpq(pair.target),
      'DST_PW',
      `BEGIN; TRUNCATE ${q}.${shape.name}`,
      `\\copy ${q}.${shape.name} FROM STDIN${format}`,
      'COMMIT',
    )
  );
};
/**
 * The target's ingest limit: the server reading a binary file of the rows from its own disk, in
 * one transaction with the TRUNCATE, FREEZE (which PostgreSQL refuses on a partitioned table).
 */
const ingest = (pair: Pair, shape: Shape, file: string): string =>
  psql(
    libpq(pair.target),
    'DST_PW',
    'BEGIN',
    `TRUNCATE ${q}.${shape.name}`,
    `COPY ${q}.${shape.name} FROM '${file}' WITH (FORMAT binary${shape.partitioned ? '' : ', FREEZE'})`,
    'COMMIT',
  );
const uri = (server: ServerInfo, port = server.port): string =>
  `postgres://${encodeURIComponent(server.user)}:${encodeURIComponent(server.password)}@${server.host}:${port}/postgres?sslmode=disable`;

async function pgcopydbCommand(pair: Pair, shape: Shape): Promise<string> {
  const dir = join(work.dir, `pgcopydb-${++runs}`);
  await mkdir(dir);
  const filters = `${dir}.ini`;
  await writeFile(
    filters,
    `[include-only-table]\n${tableNames(shape)
      .map((t) => `${schema}.${t}`)
      .join('\n')}\n`,
  );
  return (
    `pgcopydb copy table-data --source ${quoted(uri(pair.source))} --target ${quoted(uri(pair.target))} ` +
    `--table-jobs 1 --filters ${filters} --dir ${dir} > ${dir}.log 2>&1`
  );
}

async function pgcopyConfig(
  name: string,
  source: ServerInfo,
  target: ServerInfo,
  tables: readonly string[],
): Promise<string> {
  const file = join(work.dir, `${name}.yaml`);
  await writeFile(
    file,
    stringify({
      source: endpointOf(source, schema),
      targets: [{ name: 'db_1', ...endpointOf(target, schema), tables }],
      options: { mode: 'truncate' },
    }),
  );
  return file;
}

async function pgcopy(file: string, ...args: string[]): Promise<Sample> {
  const p = await runPgcopy(['run', '-c', file, '--quiet', ...args], work.dir);
  expect(p.code, p.stderr).toBe(0);
  return { seconds: p.seconds, cpuSeconds: p.cpuSeconds, maxRssMb: p.maxRssMb };
}

async function shell(pair: Pair, command: string): Promise<Sample> {
  const r = await timeShell(command, {
    SRC_PW: pair.source.password,
    DST_PW: pair.target.password,
  });
  expect(r.code, r.stderr).toBe(0);
  return { seconds: r.seconds, cpuSeconds: r.cpuSeconds };
}

/** CPU seconds of both servers' processes so far; NaN for a server on another machine. */
function pairCpu(pair: Pair): [number, number] {
  const pids = [pair.sourcePostmaster, pair.targetPostmaster];
  const known = pids.filter((p): p is number => p !== undefined);
  const seconds = serversCpuSeconds(known);
  const of = (pid: number | undefined): number =>
    pid === undefined ? NaN : (seconds[known.indexOf(pid)] ?? NaN);
  return [of(pair.sourcePostmaster), of(pair.targetPostmaster)];
}

/** A run with the CPU both servers spent meanwhile. */
async function withServerCpu(pair: Pair, go: () => Promise<Sample>): Promise<Sample> {
  const before = pairCpu(pair);
  const sample = await go();
  const after = pairCpu(pair);
  return {
    ...sample,
    sourceCpuSeconds: after[0] - before[0],
    targetCpuSeconds: after[1] - before[1],
  };
}

/**
 * Each method ROUNDS times with the CPU both servers spent (see Results.measure); the target must
 * hold the source's rows after each run.
 */
function measure(
  pair: Pair,
  sectionName: string,
  methods: readonly Method[],
  reset: () => Promise<unknown>,
  check: () => Promise<boolean>,
): Promise<void> {
  return results.measure(
    sectionName,
    methods.map((m) => ({ ...m, go: () => withServerCpu(pair, m.go) })),
    {
      rounds: ROUNDS,
      only: ONLY,
      reset,
      check: async (name) => {
        const ok = await check();
        expect(ok, `${name}: the target's rows differ from the source's`).toBe(true);
        return ok;
      },
    },
  );
}

async function postmaster(server: ServerInfo): Promise<number | undefined> {
  try {
    return await postmasterOf(server);
  } catch {
    notes.push(
      `${server.name}: its postmaster is not on this machine: no server CPU figures (nor, for a target, its ingest limit)`,
    );
    return undefined;
  }
}

async function createShapes(pair: Pair): Promise<void> {
  await sql(
    pair.source,
    `CREATE SCHEMA ${q};
     ${shapes.map((shape) => `${createTable(q, shape, rowsOf(shape))}\nINSERT INTO ${q}.${shape.name} ${shape.select(1, rowsOf(shape))};`).join('\n')}`,
  );
  await sql(
    pair.target,
    `CREATE SCHEMA ${q}; ${shapes.map((shape) => createTable(q, shape, rowsOf(shape))).join('\n')}`,
  );
  const one = createTable(q, MIXED, 1, 'one');
  await sql(pair.source, `${one} INSERT INTO ${q}.one ${MIXED.select(1, 1)};`);
  await sql(pair.target, one);
}

/** The tables of the many-tables comparison: TABLES small ones and one of all their rows. */
const small = Array.from({ length: TABLES }, (_, i) => `m${String(i).padStart(3, '0')}`);

async function createManyTables(pair: Pair): Promise<void> {
  const create = (t: string): string => createTable(q, MIXED, 0, t);
  await sql(
    pair.source,
    `${[...small, 'whole'].map(create).join('\n')}
     ${small.map((t, i) => `INSERT INTO ${q}.${t} ${MIXED.select(i * TABLE_ROWS + 1, (i + 1) * TABLE_ROWS)};`).join('\n')}
     INSERT INTO ${q}.whole ${MIXED.select(1, TABLES * TABLE_ROWS)};`,
  );
  await sql(pair.target, [...small, 'whole'].map(create).join('\n'));
}

beforeAll(async () => {
  work = await workDir('');
  // The servers read the ingest limit's files from here, as their own OS user.
  await chmod(work.dir, 0o755);
  const pg15Bin = debianPg15BinDir();
  if (s.pg15 && pg15Bin) {
    // A second PostgreSQL 15 for a 15 → 15 pair: the version the issue measured on, and the
    // target's own version for its ingest limit.
    pg15Target = await startLocalPostgres({ binDir: pg15Bin, name: 'bench-pg15-target' });
  } else notes.push('PostgreSQL 15 not available: the PG 15 → 15 pair is missing');
  const candidates = [
    { name: PAIR_17, source: s.source, target: s.target1 },
    ...(s.pg15 && pg15Target ? [{ name: PAIR_15, source: s.pg15, target: pg15Target }] : []),
  ];
  for (const c of candidates) {
    pairs.push({
      ...c,
      sourcePostmaster: await postmaster(c.source),
      targetPostmaster: await postmaster(c.target),
    });
  }
  for (const pair of pairs) await createShapes(pair);
  const [first] = pairs;
  if (first) await createManyTables(first);
  for (const pair of pairs) {
    await sql(pair.source, 'VACUUM (FREEZE, ANALYZE)');
    await sql(pair.source, 'CHECKPOINT');
    await sql(pair.target, 'CHECKPOINT');
  }
  if (!pgcopydb) notes.push('pgcopydb not installed: its rows are missing');
}, LONG);

afterAll(async () => {
  const loadAfter = loadavg();
  for (const pair of pairs) {
    await sql(pair.target, `DROP SCHEMA IF EXISTS ${q} CASCADE`).catch(() => undefined);
    await sql(pair.source, `DROP SCHEMA IF EXISTS ${q} CASCADE`).catch(() => undefined);
  }
  await pg15Target?.stop();
  await work.cleanup();
  const goals = goalsOf();
  const summary = [
    `${ROWS.toLocaleString('en-US')} rows per shape (bytea: ${BYTEA_ROWS.toLocaleString('en-US')}); ` +
      `${TABLES} tables × ${TABLE_ROWS.toLocaleString('en-US')} rows; ${ROUNDS} round(s), order alternating; ` +
      `load average at the start ${loadAtStart.map((l) => l.toFixed(1)).join(' ')}, at the end ${loadAfter.map((l) => l.toFixed(1)).join(' ')}`,
    ...results.goals(goals),
    ...notes,
  ];
  const sizes = (pair: Pair): string =>
    shapes.map((shape) => `${shape.name} ${binaryMb[section(pair.name, shape)] ?? '?'}`).join(', ');
  const tables = pairs.map(
    (pair) => `${pair.name} (MB as binary COPY: ${sizes(pair)})\n${pairTable(pair.name)}`,
  );
  process.stdout.write(
    `\n${tables.join('\n\n')}\n\n${manyTable()}\n\n${summary.join('\n')}\n${roundTripLines().join('\n')}\n`,
  );
  await results.write(RESULTS, {
    at: new Date().toISOString(),
    quick: QUICK,
    rows: ROWS,
    byteaRows: BYTEA_ROWS,
    tables: TABLES,
    tableRows: TABLE_ROWS,
    rounds: ROUNDS,
    load: { start: loadAtStart, end: loadAfter },
    pairs: pairs.map((p) => ({
      name: p.name,
      source: p.source.majorVersion,
      target: p.target.majorVersion,
    })),
    goals: results.evaluate(goals),
    roundTrips,
    binaryMb,
    summary,
  });
});

const loadAtStart = loadavg();

/** The issue's goals, per pair and shape. */
function goalsOf(): Goal[] {
  const goals: Goal[] = [];
  for (const pair of pairs) {
    for (const shape of shapes) {
      const pgcopyRun = named(pair.name, shape, METHOD.pgcopy);
      goals.push(
        {
          text: `${section(pair.name, shape)}: pgcopy / psql binary pipe`,
          method: pgcopyRun,
          versus: named(pair.name, shape, METHOD.binary),
          atMost: 1.0,
        },
        {
          text: `${section(pair.name, shape)}: pgcopy / ingest limit`,
          method: pgcopyRun,
          versus: named(pair.name, shape, METHOD.ingest),
          atMost: 1.15,
        },
        {
          text: `${section(pair.name, shape)}: pgcopy peak RSS`,
          method: pgcopyRun,
          of: 'maxRssMb',
          unit: 'MB',
          atMost: 200,
        },
      );
    }
  }
  goals.push({
    text: `${TABLES} tables at concurrency 1 / 1 table of the same rows`,
    method: MANY_TABLES,
    versus: ONE_TABLE,
    atMost: 1.3,
  });
  return goals;
}

// --- printing ---------------------------------------------------------------------------------
const fixed = (value: number | null, digits = 2): string =>
  value === null || Number.isNaN(value) ? '' : value.toFixed(digits);
const markdown = (header: readonly string[], cells: readonly (readonly string[])[]): string => {
  const line = (c: readonly string[]): string => `| ${c.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...cells.map(line)].join('\n');
};
const allCpu = (s: Sample): number =>
  s.cpuSeconds + (s.sourceCpuSeconds ?? 0) + (s.targetCpuSeconds ?? 0);

/** One pair's table: per shape and method, wall and CPU figures and the two ratios. */
function pairTable(pair: string): string {
  const rows = results.rows().filter((r) => r.section.startsWith(`${pair} `));
  const cpuRatio = (r: ResultRow): string => {
    const base = r.section + `: ${METHOD.binary}`;
    return fixed(results.median(r.method, allCpu) / results.median(base, allCpu));
  };
  /** pgcopy's time less its one-row run, against the binary pipe: the gap the bytes make. */
  const withoutFixed = (r: ResultRow): string =>
    r.method.endsWith(METHOD.pgcopy)
      ? fixed(
          (r.medianSeconds - results.median(oneRow(pair))) /
            results.median(r.section + `: ${METHOD.binary}`),
        )
      : '';
  const cells = rows.map((r) => [
    r.section.slice(pair.length + 1),
    r.method.slice(r.section.length + 2),
    fixed(r.medianSeconds),
    fixed(r.ratio ?? (r.method.endsWith(METHOD.binary) ? 1 : null)),
    fixed(r.ratioVersus ?? (r.method.endsWith(METHOD.ingest) ? 1 : null)),
    withoutFixed(r),
    fixed(r.cpuSeconds),
    fixed(r.sourceCpuSeconds),
    fixed(r.targetCpuSeconds),
    fixed(results.median(r.method, allCpu)),
    cpuRatio(r),
    fixed(r.peakRssMb, 0),
    r.checked === null ? '' : r.checked ? 'yes' : 'NO',
  ]);
  return markdown(
    [
      'shape',
      'method',
      'wall s',
      '× binary pipe',
      '× ingest limit',
      '× binary pipe, one-row run off',
      'client CPU s',
      'source CPU s',
      'target CPU s',
      'all CPU s',
      'all CPU × binary pipe',
      'RSS MB',
      'rows ok',
    ],
    cells,
  );
}

function manyTable(): string {
  const rows = results.rows().filter((r) => r.section === MANY);
  return `${MANY} (${pairs[0]?.name ?? ''}, the mixed shape)\n${markdown(
    [
      'method',
      'wall s',
      'ratio',
      'client CPU s',
      'source CPU s',
      'target CPU s',
      'RSS MB',
      'rows ok',
    ],
    rows.map((r) => [
      r.method,
      fixed(r.medianSeconds),
      fixed(r.ratioVersus),
      fixed(r.cpuSeconds),
      fixed(r.sourceCpuSeconds),
      fixed(r.targetCpuSeconds),
      fixed(r.peakRssMb, 0),
      r.checked === null ? '' : r.checked ? 'yes' : 'NO',
    ]),
  )}`;
}

function roundTripLines(): string[] {
  const r = roundTrips as {
    tables?: number;
    half?: number;
    full?: { source: ProxyCounts; target: ProxyCounts };
    halfRun?: { source: ProxyCounts; target: ProxyCounts };
    perTable?: { source: number; target: number };
  };
  if (!r.full || !r.halfRun || !r.perTable) return [];
  return [
    `round trips through the latency proxy (no delay): ${r.tables} tables: source ${r.full.source.roundTrips}, ` +
      `target ${r.full.target.roundTrips} (connections ${r.full.source.connections} and ${r.full.target.connections}); ` +
      `${r.half} tables: source ${r.halfRun.source.roundTrips}, target ${r.halfRun.target.roundTrips}`,
    `round trips per table (the difference, per table): source ${r.perTable.source.toFixed(1)}, target ${r.perTable.target.toFixed(1)}, ` +
      `both ${(r.perTable.source + r.perTable.target).toFixed(1)}`,
  ];
}

const equal = (
  a: { count: number; digest: string },
  b: { count: number; digest: string },
): boolean => a.count === b.count && a.digest === b.digest;

describe('the performance matrix: table shapes × servers × methods', () => {
  it(
    'every shape on every server pair by every method',
    async () => {
      expect(pairs.length).toBeGreaterThan(0);
      for (const pair of pairs) {
        const oneConfig = await pgcopyConfig(`${++runs}-one`, pair.source, pair.target, ['one']);
        const oneExpected = await rowsDigest(pair.source, `SELECT * FROM ${q}.one`);
        await measure(
          pair,
          `${pair.name} ${FIXED}`,
          [{ name: oneRow(pair.name), go: () => pgcopy(oneConfig) }],
          () => sql(pair.target, `TRUNCATE ${q}.one`),
          async () => equal(await rowsDigest(pair.target, `SELECT * FROM ${q}.one`), oneExpected),
        );
        for (const shape of shapes) {
          const table = `${q}.${shape.name}`;
          const expected = await rowsDigest(pair.source, `SELECT * FROM ${table}`);
          expect(expected.count).toBe(rowsOf(shape));
          const file = join(work.dir, `${++runs}-${shape.name}.bin`);
          const written = await shell(
            pair,
            psql(
              libpq(pair.source),
              'SRC_PW',
              `\\copy ${copySource(shape)} TO '${file}' WITH (FORMAT binary)`,
            ),
          );
          expect(written.seconds).toBeGreaterThan(0);
          await chmod(file, 0o644);
          binaryMb[section(pair.name, shape)] = Math.round((await stat(file)).size / 1e5) / 10;
          const config = await pgcopyConfig(`${++runs}-${shape.name}`, pair.source, pair.target, [
            shape.name,
          ]);
          const versus = named(pair.name, shape, METHOD.ingest);
          const method = (name: string, go: () => Promise<Sample>): Method => ({
            name: named(pair.name, shape, name),
            ...(name === METHOD.ingest ? {} : { versus }),
            go,
          });
          const methods: Method[] = [
            method(METHOD.text, () => shell(pair, pipe(pair, shape, false))),
            method(METHOD.binary, () => shell(pair, pipe(pair, shape, true))),
            // The server reads the file from its own disk: only a server on this machine can.
            ...(pair.targetPostmaster === undefined
              ? []
              : [method(METHOD.ingest, () => shell(pair, ingest(pair, shape, file)))]),
            ...(pgcopydb
              ? [
                  method(METHOD.pgcopydb, async () =>
                    shell(pair, await pgcopydbCommand(pair, shape)),
                  ),
                ]
              : []),
            method(METHOD.pgcopy, () => pgcopy(config)),
          ];
          await measure(
            pair,
            section(pair.name, shape),
            methods,
            () => sql(pair.target, `TRUNCATE ${table}; CHECKPOINT`),
            async () => equal(await rowsDigest(pair.target, `SELECT * FROM ${table}`), expected),
          );
        }
      }
    },
    LONG,
  );

  it(
    `${TABLES} tables of ${TABLE_ROWS.toLocaleString('en-US')} rows against one table of their rows, and their round trips`,
    async () => {
      const pair = pairs[0];
      if (!pair) return;
      const union = small.map((t) => `SELECT * FROM ${q}.${t}`).join(' UNION ALL ');
      const expected = await rowsDigest(pair.source, union);
      const expectedWhole = await rowsDigest(pair.source, `SELECT * FROM ${q}.whole`);
      expect(expected).toEqual(expectedWhole);
      const many = await pgcopyConfig('many', pair.source, pair.target, small);
      const whole = await pgcopyConfig('whole', pair.source, pair.target, ['whole']);
      const emptyAll = `TRUNCATE ${[...small, 'whole'].map((t) => `${q}.${t}`).join(', ')}; CHECKPOINT`;
      const copied = async (): Promise<boolean> => {
        const [a, b] = await Promise.all([
          rowsDigest(pair.target, union),
          rowsDigest(pair.target, `SELECT * FROM ${q}.whole`),
        ]);
        // One of the two was copied, the other is empty.
        return (equal(a, expected) && b.count === 0) || (equal(b, expected) && a.count === 0);
      };
      await measure(
        pair,
        MANY,
        [
          { name: ONE_TABLE, go: () => pgcopy(whole, '--concurrency', '1') },
          { name: MANY_TABLES, versus: ONE_TABLE, go: () => pgcopy(many, '--concurrency', '1') },
        ],
        () => sql(pair.target, emptyAll),
        copied,
      );

      // Round trips per table: all the tables and half of them through a proxy in front of each
      // server; the difference, per table, is what one more table costs on warm connections.
      const proxies = {
        source: await LatencyProxy.start(pair.source),
        target: await LatencyProxy.start(pair.target),
      };
      try {
        const viaProxy = async (name: string, tables: readonly string[]) => {
          const file = await pgcopyConfig(
            name,
            { ...pair.source, port: proxies.source.port },
            { ...pair.target, port: proxies.target.port },
            tables,
          );
          await sql(pair.target, emptyAll);
          proxies.source.reset();
          proxies.target.reset();
          await pgcopy(file, '--concurrency', '1');
          return { source: proxies.source.counts(), target: proxies.target.counts() };
        };
        const half = Math.floor(TABLES / 2);
        const full = await viaProxy('proxy-full', small);
        expect(equal(await rowsDigest(pair.target, union), expected)).toBe(true);
        const halfRun = await viaProxy('proxy-half', small.slice(0, half));
        const per = (side: 'source' | 'target'): number =>
          (full[side].roundTrips - halfRun[side].roundTrips) / (TABLES - half);
        roundTrips = {
          tables: TABLES,
          half,
          full,
          halfRun,
          perTable: { source: per('source'), target: per('target') },
        };
      } finally {
        await proxies.source.stop();
        await proxies.target.stop();
      }
    },
    LONG,
  );
});
