import { execFile, spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FDW_FETCH_SIZE } from '../src/copy/strategies/fdw.js';
import { workDir } from '../test/support/cli.js';
import { endpointOf } from '../test/support/config.js';
import { servers, sql, uniqueName } from '../test/support/db.js';
import type { ServerInfo } from '../test/support/server-info.js';
import { sshdAvailable, startSshd, type TestSshd } from '../test/support/sshd.js';
import { Results, type Goal, type Method, type Sample } from './results.js';
import { openSshForward, type SshForward } from './ssh-forward.js';
import { rowsDigest, runPgcopy, timeShell, MIXED_COLUMNS, mixedRowsSql } from './support.js';

/**
 * pgcopy against the tools users would pick instead, in one run on the same servers: each method
 * several times, the order alternating between rounds, the median and its ratio to the psql text
 * pipe; every method's copy checked on the target (row count and digest). `npm run bench --
 * --quick` runs it on small sizes, where the check is the point.
 */

const QUICK = process.env.PGCOPY_BENCH_QUICK === '1';
const ROWS = Number(process.env.PGCOPY_BENCH_ROWS ?? 5_000_000);
const TABLES = Number(process.env.PGCOPY_BENCH_TABLES ?? 200);
const TABLE_ROWS = Number(process.env.PGCOPY_BENCH_TABLE_ROWS ?? 10_000);
const ROUNDS = Number(process.env.PGCOPY_BENCH_ROUNDS ?? 5);
const MEMORY_ROWS = (process.env.PGCOPY_BENCH_MEMORY_ROWS ?? '1000000,5000000')
  .split(',')
  .map((n) => Math.min(Number(n), ROWS));
/** `--only RE`: the methods to measure (all by default). */
const ONLY = new RegExp(process.env.PGCOPY_BENCH_ONLY ?? '');
const RESULTS = fileURLToPath(new URL('./results/latest.json', import.meta.url));
const LONG = 6 * 3600_000;

const schema = uniqueName('bench_compare');
const q = `"${schema}"`;
const s = servers();
const COLUMNS = `${MIXED_COLUMNS}, PRIMARY KEY (id)`;
const COLUMN_NAMES = 'id, sensor, observed_at, reading, amount, label, flags, day';
const ROW_TYPES = MIXED_COLUMNS;
const small = Array.from({ length: TABLES }, (_, i) => `s${String(i).padStart(3, '0')}`);
const pgcopydb = spawnSync('pgcopydb', ['--version'], { stdio: 'ignore' }).status === 0;

const BIG = 'one big table';
const MANY = `${TABLES} small tables`;
const MASKING = 'data rules on the big table';
const results = new Results({
  [BIG]: 'psql text pipe',
  [MANY]: 'psql pipes, sequential',
  [MASKING]: 'pgcopy stream, unmasked',
});
/** The key of the masked runs (a run reads options.maskKey from its environment). */
process.env['PGCOPY_BENCH_MASK_KEY'] = 'the benchmark key, long enough';
const notes: string[] = [];

// --- shell commands, as a user would type them ------------------------------------------------
const libpq = (server: ServerInfo, port = server.port, host = server.host): string =>
  `host=${host} port=${port} user=${server.user} dbname=postgres sslmode=disable`;
const quoted = (text: string): string =>
  `"${text.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
const psql = (conn: string, password: string, ...commands: string[]): string =>
  `PGPASSWORD=$${password} psql -X -q -v ON_ERROR_STOP=1 ${quoted(conn)} ${commands.map((c) => `-c ${quoted(c)}`).join(' ')}`;
const env = { SRC_PW: s.source.password, DST_PW: s.target1.password };
/** `psql | psql` for one table: the target truncated and loaded in one transaction, like pgcopy's truncate mode. */
const pipe = (table: string, binary: boolean, sourceConn = libpq(s.source)): string => {
  const format = binary ? ' WITH (FORMAT binary)' : '';
  return (
    `${psql(sourceConn, 'SRC_PW', `\\copy ${q}.${table} TO STDOUT${format}`)} | ` +
    psql(
      libpq(s.target1),
      'DST_PW',
      `BEGIN; TRUNCATE ${q}.${table}`,
      `\\copy ${q}.${table} FROM STDIN${format}`,
      'COMMIT',
    )
  );
};
const loop = (tables: readonly string[]): string =>
  `for t in ${tables.join(' ')}; do ${pipe('$t', false)} || exit 1; done`;
const uri = (server: ServerInfo, port = server.port): string =>
  `postgres://${encodeURIComponent(server.user)}:${encodeURIComponent(server.password)}@${server.host}:${port}/postgres?sslmode=disable`;

let work: { dir: string; cleanup: () => Promise<void> };
let sshd: TestSshd | undefined;
let forward: SshForward | undefined;
let pgcopydbRuns = 0;

async function pgcopyConfig(name: string, config: unknown): Promise<string> {
  const file = join(work.dir, `${name}.yaml`);
  await writeFile(file, stringify(config));
  return file;
}

const target = (tables: readonly unknown[], extra: Record<string, unknown> = {}): unknown => ({
  source: endpointOf(s.source, schema),
  targets: [{ name: 'db_1', ...endpointOf(s.target1, schema), tables }],
  options: { mode: 'truncate', ...extra },
});

async function pgcopy(file: string, ...args: string[]): Promise<Sample> {
  const p = await runPgcopy(['run', '-c', file, '--quiet', ...args], work.dir);
  expect(p.code, p.stderr).toBe(0);
  return { seconds: p.seconds, cpuSeconds: p.cpuSeconds, maxRssMb: p.maxRssMb };
}

async function shell(command: string): Promise<Sample> {
  const r = await timeShell(command, env);
  expect(r.code, r.stderr).toBe(0);
  return { seconds: r.seconds, cpuSeconds: r.cpuSeconds };
}

async function pgcopydbCommand(filters: string, sourcePort = s.source.port): Promise<string> {
  const dir = join(work.dir, `pgcopydb-${++pgcopydbRuns}`);
  await mkdir(dir);
  return (
    `pgcopydb copy table-data --source ${quoted(uri(s.source, sourcePort))} --target ${quoted(uri(s.target1))} ` +
    `--table-jobs 2 --filters ${filters} --dir ${dir} > ${dir}.log 2>&1`
  );
}

/** Each method ROUNDS times (see Results.measure); checks the target after each run. */
function measure(
  section: string,
  methods: readonly Method[],
  reset: () => Promise<unknown>,
  check: () => Promise<boolean>,
): Promise<void> {
  return results.measure(section, methods, { rounds: ROUNDS, only: ONLY, reset, check });
}

beforeAll(async () => {
  work = await workDir('');
  const create = (table: string): string => `CREATE TABLE ${q}.${table} (${COLUMNS});`;
  const all = ['mixed', 'one', ...small];
  await sql(
    s.source,
    `CREATE SCHEMA ${q}; ${all.map(create).join('\n')}
     INSERT INTO ${q}.mixed ${mixedRowsSql(ROWS)};
     INSERT INTO ${q}.one ${mixedRowsSql(1)};
     ${small.map((t) => `INSERT INTO ${q}.${t} ${mixedRowsSql(TABLE_ROWS)};`).join('\n')}`,
  );
  await sql(s.source, 'VACUUM (FREEZE, ANALYZE)');
  await sql(
    s.target1,
    `CREATE EXTENSION IF NOT EXISTS dblink SCHEMA public;
     CREATE EXTENSION IF NOT EXISTS postgres_fdw SCHEMA public;
     CREATE SCHEMA ${q}; ${all.map(create).join('\n')}
     CREATE SERVER ${q} FOREIGN DATA WRAPPER postgres_fdw
       OPTIONS (host '${s.source.host}', port '${s.source.port}', dbname 'postgres', fetch_size '${FDW_FETCH_SIZE}');
     CREATE USER MAPPING FOR CURRENT_USER SERVER ${q} OPTIONS (user '${s.source.user}', password '${s.source.password}');
     CREATE FOREIGN TABLE ${q}.pulled (${ROW_TYPES}) SERVER ${q} OPTIONS (schema_name '${schema}', table_name 'mixed');
     CHECKPOINT;`,
  );
  // The big table's size as COPY text: the unit of CPU seconds per GB.
  const { stdout } = await promisify(execFile)(
    'bash',
    [
      '-o',
      'pipefail',
      '-c',
      `${psql(libpq(s.source), 'SRC_PW', `\\copy ${q}.mixed TO STDOUT`)} | wc -c`,
    ],
    { env: { ...process.env, ...env } },
  );
  results.textBytes = Number(stdout.trim());
  if (sshdAvailable()) {
    sshd = await startSshd({ hostKeyTypes: ['ed25519'] });
    const keyFile = join(work.dir, 'ssh-key');
    await writeFile(keyFile, sshd.clientKey.private, { mode: 0o600 });
    forward = await openSshForward({
      sshHost: sshd.host,
      sshPort: sshd.port,
      user: sshd.user,
      keyFile,
      to: s.source,
    });
  } else notes.push('OpenSSH sshd not installed: the tunnel rows are missing');
  if (!pgcopydb) notes.push('pgcopydb not installed: its rows are missing');
}, LONG);

afterAll(async () => {
  await forward?.stop();
  await sshd?.stop();
  await sql(s.target1, `DROP SCHEMA IF EXISTS ${q} CASCADE; DROP SERVER IF EXISTS ${q} CASCADE`);
  await sql(s.source, `DROP SCHEMA IF EXISTS ${q} CASCADE`);
  await work.cleanup();
  const perMillion = (name: string): string =>
    (results.median(name, (x) => x.cpuSeconds) / (ROWS / 1e6)).toFixed(2);
  // The copy's own CPU: what a one-row run spends (start, catalogs, connections) taken off.
  const copyPerMillion = (
    (results.median('pgcopy stream', (x) => x.cpuSeconds) -
      results.median('pgcopy run, one row', (x) => x.cpuSeconds)) /
    (ROWS / 1e6)
  ).toFixed(2);
  const memory = MEMORY_ROWS.map(
    (n) =>
      `${n.toLocaleString('en-US')} rows ${results.median(`pgcopy stream, ${n} rows`, (x) => x.maxRssMb).toFixed(0)} MB`,
  );
  const summary = [
    `${ROWS.toLocaleString('en-US')}-row table (${(results.textBytes / 1e6).toFixed(0)} MB as COPY text); ` +
      `${TABLES} tables × ${TABLE_ROWS.toLocaleString('en-US')} rows; ${ROUNDS} round(s), order alternating`,
    `CPU seconds per 1M rows: pgcopy stream ${perMillion('pgcopy stream')} (${copyPerMillion} without the one-row run's fixed cost), psql text pipe ${perMillion('psql text pipe')}, psql binary pipe ${perMillion('psql binary pipe')}`,
    `peak RSS of pgcopy stream: ${memory.join('; ')}`,
    ...results.goals(GOALS),
    ...notes,
  ];
  process.stdout.write(`\n${results.table()}\n\n${summary.join('\n')}\n`);
  await results.write(RESULTS, {
    at: new Date().toISOString(),
    quick: QUICK,
    rows: ROWS,
    tables: TABLES,
    tableRows: TABLE_ROWS,
    rounds: ROUNDS,
    textBytes: results.textBytes,
    postgres: { source: s.source.majorVersion, target: s.target1.majorVersion },
    summary,
  });
});

const GOALS: readonly Goal[] = [
  {
    text: 'one big table, stream / psql text pipe',
    method: 'pgcopy stream',
    versus: 'psql text pipe',
    atMost: 0.8,
  },
  {
    text: 'through the SSH tunnel / psql text pipe through ssh -L',
    method: 'pgcopy stream, SSH tunnel',
    versus: 'psql text pipe, ssh -L',
    atMost: 1.0,
  },
  {
    text: 'dblink / raw dblink INSERT … SELECT',
    method: 'pgcopy dblink',
    versus: 'raw dblink INSERT … SELECT',
    atMost: 1.1,
  },
  {
    text: 'fdw / raw postgres_fdw INSERT … SELECT',
    method: 'pgcopy fdw',
    versus: 'raw postgres_fdw INSERT … SELECT',
    atMost: 1.1,
  },
  {
    text: `${TABLES} small tables, concurrency 2 / sequential psql pipes`,
    method: 'pgcopy, concurrency 2',
    versus: 'psql pipes, sequential',
    atMost: 0.75,
  },
  {
    text: `${TABLES} small tables, concurrency 2: with the ledger / without`,
    method: 'pgcopy, concurrency 2',
    versus: 'pgcopy, concurrency 2, no ledger',
    atMost: 1.03,
  },
  {
    text: 'two columns masked (hash, date) / the same copy unmasked',
    method: 'pgcopy stream, two columns masked',
    versus: 'pgcopy stream, unmasked',
    atMost: 1.3,
  },
  {
    text: `${TABLES} small tables, concurrency 2 / pgcopydb --table-jobs 2`,
    method: 'pgcopy, concurrency 2',
    versus: 'pgcopydb --table-jobs 2, small tables',
    atMost: 0.8,
  },
];

describe('pgcopy against the tools users would pick instead', () => {
  it(
    `one ${ROWS.toLocaleString('en-US')}-row table by every method`,
    async () => {
      const expected = await rowsDigest(s.source, `SELECT * FROM ${q}.mixed`);
      const filters = join(work.dir, 'big.ini');
      await writeFile(filters, `[include-only-table]\n${schema}.mixed\n`);
      const [stream, dblink, fdw] = await Promise.all([
        pgcopyConfig('stream', target(['mixed'])),
        pgcopyConfig('dblink', target(['mixed'], { strategy: 'dblink' })),
        pgcopyConfig('fdw', target(['mixed'], { strategy: 'fdw' })),
      ]);
      const methods: Method[] = [
        { name: 'psql text pipe', go: () => shell(pipe('mixed', false)) },
        { name: 'psql binary pipe', go: () => shell(pipe('mixed', true)) },
        { name: 'pgcopy stream', go: () => pgcopy(stream) },
        {
          name: 'raw dblink INSERT … SELECT',
          go: () =>
            shell(
              psql(
                libpq(s.target1),
                'DST_PW',
                `BEGIN; TRUNCATE ${q}.mixed; INSERT INTO ${q}.mixed SELECT * FROM public.dblink('${libpq(s.source)} password=${s.source.password}', 'SELECT ${COLUMN_NAMES} FROM ONLY ${q}.mixed') AS r(${ROW_TYPES}); COMMIT`,
              ),
            ),
        },
        { name: 'pgcopy dblink', versus: 'raw dblink INSERT … SELECT', go: () => pgcopy(dblink) },
        {
          name: 'raw postgres_fdw INSERT … SELECT',
          go: () =>
            shell(
              psql(
                libpq(s.target1),
                'DST_PW',
                `BEGIN; TRUNCATE ${q}.mixed; INSERT INTO ${q}.mixed SELECT * FROM ${q}.pulled; COMMIT`,
              ),
            ),
        },
        { name: 'pgcopy fdw', versus: 'raw postgres_fdw INSERT … SELECT', go: () => pgcopy(fdw) },
      ];
      if (sshd && forward) {
        const keyFile = join(work.dir, 'ssh-key');
        const tunnel = await pgcopyConfig('tunnel', {
          ...(target(['mixed']) as Record<string, unknown>),
          source: {
            ...endpointOf(s.source, schema),
            ssh: {
              host: sshd.host,
              port: sshd.port,
              user: sshd.user,
              fingerprint: sshd.fingerprints.ed25519,
              keyFile,
            },
          },
        });
        const port = forward.port;
        methods.push(
          {
            name: 'psql text pipe, ssh -L',
            go: () => shell(pipe('mixed', false, libpq(s.source, port, '127.0.0.1'))),
          },
          {
            name: 'pgcopy stream, SSH tunnel',
            versus: 'psql text pipe, ssh -L',
            go: () => pgcopy(tunnel),
          },
        );
      }
      if (pgcopydb) {
        methods.push({
          name: 'pgcopydb --table-jobs 2',
          go: async () => shell(await pgcopydbCommand(filters)),
        });
      }
      await measure(
        BIG,
        methods,
        () => sql(s.target1, `TRUNCATE ${q}.mixed; CHECKPOINT`),
        async () => equal(await rowsDigest(s.target1, `SELECT * FROM ${q}.mixed`), expected),
      );
      for (const m of results.methods.values()) expect(m.checked, m.name).toBe(true);
    },
    LONG,
  );

  it(
    `the ${ROWS.toLocaleString('en-US')}-row table with two columns masked, and without`,
    async () => {
      // The columns the rules leave alone must arrive as they are; the masked ones must not.
      const kept = 'id, sensor, observed_at, reading, amount, flags';
      const expected = await rowsDigest(s.source, `SELECT ${kept} FROM ${q}.mixed`);
      const [plain, masked] = await Promise.all([
        pgcopyConfig('unmasked', target(['mixed'])),
        pgcopyConfig(
          'masked',
          target(['mixed'], {
            dataRules: { label: { mask: 'hash' }, day: { mask: 'date' } },
            maskKey: { env: 'PGCOPY_BENCH_MASK_KEY' },
          }),
        ),
      ]);
      await measure(
        MASKING,
        [
          { name: 'pgcopy stream, unmasked', go: () => pgcopy(plain) },
          {
            name: 'pgcopy stream, two columns masked',
            versus: 'pgcopy stream, unmasked',
            go: () => pgcopy(masked),
          },
        ],
        () => sql(s.target1, `TRUNCATE ${q}.mixed; CHECKPOINT`),
        async () => equal(await rowsDigest(s.target1, `SELECT ${kept} FROM ${q}.mixed`), expected),
      );
      // Once more masked: no original label is left in the target.
      await sql(s.target1, `TRUNCATE ${q}.mixed`);
      await pgcopy(masked);
      const leaked = await sql(
        s.target1,
        `SELECT count(*)::int AS n FROM ${q}.mixed WHERE label LIKE 'label %'`,
      );
      expect(leaked.rows[0]).toEqual({ n: 0 });
      for (const m of results.methods.values()) expect(m.checked, m.name).toBe(true);
    },
    LONG,
  );

  it(
    `${TABLES} tables of ${TABLE_ROWS.toLocaleString('en-US')} rows`,
    async () => {
      const union = small.map((t) => `SELECT '${t}' AS t, * FROM ${q}.${t}`).join(' UNION ALL ');
      const expected = await rowsDigest(s.source, union);
      const filters = join(work.dir, 'small.ini');
      await writeFile(
        filters,
        `[include-only-table]\n${small.map((t) => `${schema}.${t}`).join('\n')}\n`,
      );
      const config = await pgcopyConfig('small', target(small));
      // The ledger's cost: the same run without it.
      const noLedger = await pgcopyConfig('small-no-ledger', target(small, { ledger: false }));
      const half = Math.ceil(TABLES / 2);
      const methods: Method[] = [
        { name: 'psql pipes, sequential', go: () => shell(loop(small)) },
        {
          name: 'psql pipes, 2 in parallel',
          go: () =>
            shell(
              `( ${loop(small.slice(0, half))} ) & a=$!; ( ${loop(small.slice(half))} ) & b=$!; wait $a && wait $b`,
            ),
        },
        { name: 'pgcopy, concurrency 1', go: () => pgcopy(config, '--concurrency', '1') },
        {
          name: 'pgcopy, concurrency 2',
          versus: 'psql pipes, 2 in parallel',
          go: () => pgcopy(config, '--concurrency', '2'),
        },
        {
          name: 'pgcopy, concurrency 2, no ledger',
          versus: 'psql pipes, 2 in parallel',
          go: () => pgcopy(noLedger, '--concurrency', '2'),
        },
      ];
      if (pgcopydb) {
        methods.push({
          name: 'pgcopydb --table-jobs 2, small tables',
          go: async () => shell(await pgcopydbCommand(filters)),
        });
      }
      await measure(
        MANY,
        methods,
        () => sql(s.target1, `TRUNCATE ${small.map((t) => `${q}.${t}`).join(', ')}; CHECKPOINT`),
        async () => equal(await rowsDigest(s.target1, union), expected),
      );
      for (const m of results.methods.values()) expect(m.checked, m.name).toBe(true);
    },
    LONG,
  );

  it(
    'peak memory and fixed costs',
    async () => {
      for (const rows of new Set(MEMORY_ROWS)) {
        const name = `pgcopy stream, ${rows} rows`;
        if (!ONLY.test(name)) continue;
        const where = `id <= ${rows}`;
        const config = await pgcopyConfig(`memory-${rows}`, target([{ name: 'mixed', where }]));
        await sql(s.target1, `TRUNCATE ${q}.mixed; CHECKPOINT`);
        results.record('memory', name, await pgcopy(config));
        results.check(
          name,
          equal(
            await rowsDigest(s.target1, `SELECT * FROM ${q}.mixed`),
            await rowsDigest(s.source, `SELECT * FROM ${q}.mixed WHERE ${where}`),
          ),
        );
        expect(results.methods.get(name)?.checked).toBe(true);
      }
      const one = await pgcopyConfig('one', target(['one']));
      const expected = await rowsDigest(s.source, `SELECT * FROM ${q}.one`);
      await measure(
        'fixed costs',
        [
          {
            name: 'pgcopy --help',
            go: async () => {
              const p = await runPgcopy(['--help'], work.dir);
              expect(p.code, p.stderr).toBe(0);
              return { seconds: p.seconds, cpuSeconds: p.cpuSeconds, maxRssMb: p.maxRssMb };
            },
          },
          { name: 'pgcopy run, one row', go: () => pgcopy(one) },
        ],
        () => sql(s.target1, `TRUNCATE ${q}.one`),
        async () => {
          const digest = await rowsDigest(s.target1, `SELECT * FROM ${q}.one`);
          // --help copies nothing: the table stays empty after its run.
          return digest.count === 0 || equal(digest, expected);
        },
      );
    },
    LONG,
  );
});

function equal(
  a: { count: number; digest: string },
  b: { count: number; digest: string },
): boolean {
  return a.count === b.count && a.digest === b.digest;
}
