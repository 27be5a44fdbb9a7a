#!/usr/bin/env node
// `node scripts/profile-copy.mjs [--quick] [--rounds N] [--versions 15,17] [--shapes mixed,bytea]`
// The copy path alone, side by side in one run: pgcopy `run` (stream, binary, truncate) against the
// psql binary pipe and the target's own ingest (server-side COPY FROM a local binary file, FREEZE,
// one transaction), on a throwaway source and target server per PostgreSQL version. Rounds
// alternate the order of the methods; each run is checked by row count and digest on the target.
// Prints wall and CPU seconds per process (pgcopy or psql, source backend, target backend), the
// medians, the ratios, pgcopy's peak RSS, and the load average before and after.
// Needs `npm run build` first (it runs bin/pgcopy.js, which loads dist/).
// PGCOPY_PROFILE_NODE_ARGS adds flags to pgcopy's node (e.g. "--cpu-prof --cpu-prof-dir=/tmp/p").
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { stringify } from 'yaml';

const usage = `node scripts/profile-copy.mjs [--quick] [--rounds N] [--versions 15,17] [--shapes mixed,bytea] [--only RE]
  --quick      small tables (50,000 mixed rows, 5,000 bytea rows), one round: checks the script
  --rounds N   runs of each method (default 5; --quick: 1)
  --rows N     mixed rows (default 2,000,000); --bytea-rows N (default 150,000)
  --versions   PostgreSQL major versions (15: Debian's, if installed; 17: the embedded one)
  --shapes     table shapes: mixed (the issue's seven columns with jsonb), bytea (1-8 KB values)
  --only RE    only the methods whose names match RE (pgcopy, binary pipe, ingest)`;

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    rows: { type: 'string' },
    'bytea-rows': { type: 'string' },
    versions: { type: 'string', default: '15,17' },
    shapes: { type: 'string', default: 'mixed,bytea' },
    only: { type: 'string', default: '' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}
const root = fileURLToPath(new URL('..', import.meta.url));
if (!existsSync(join(root, 'dist/demo/local-postgres.js'))) {
  process.stderr.write('run `npm run build` first\n');
  process.exit(2);
}
const { startLocalPostgres } = await import('../dist/demo/local-postgres.js');
const { debianPg15BinDir, embeddedBinDir } = await import('../dist/demo/binaries.js');

const ROUNDS = Number(values.rounds ?? (values.quick ? 1 : 5));
const MIXED_ROWS = Number(values.rows ?? (values.quick ? 50_000 : 2_000_000));
const BYTEA_ROWS = Number(values['bytea-rows'] ?? (values.quick ? 5_000 : 150_000));
const ONLY = new RegExp(values.only);
const NODE_ARGS = (process.env.PGCOPY_PROFILE_NODE_ARGS ?? '').split(' ').filter(Boolean);
const bin = join(root, 'bin/pgcopy.js');
const preload = join(root, 'bench/max-rss.cjs');

/** The shapes: the issue's mixed table with jsonb, and bytea of 1-8 KB (incompressible bytes). */
const SHAPES = {
  mixed: {
    columns: `id bigint PRIMARY KEY, at timestamptz NOT NULL, label text, amount numeric(12,2),
              doc jsonb, flag boolean, n integer`,
    fill: (rows) => `SELECT g, '2026-01-01'::timestamptz + g * interval '1 second',
              substr(repeat(md5(g::text), 3), 1, 32 + g % 65), (g % 10000000) / 100.0,
              jsonb_build_object('id', g, 'kind', g % 7, 'tags', jsonb_build_array('a', g % 13)),
              g % 2 = 0, (g % 100000)::int
         FROM generate_series(1, ${rows}) g`,
    rows: MIXED_ROWS,
  },
  bytea: {
    columns: 'id bigint PRIMARY KEY, data bytea',
    fill: (rows) => `SELECT g, (SELECT decode(string_agg(md5((g * 1000 + i)::text), ''), 'hex')
                                FROM generate_series(1, 64 + (g * 7919) % 449) i)
         FROM generate_series(1, ${rows}) g`,
    rows: BYTEA_ROWS,
  },
};

// --- processes and their CPU time ------------------------------------------------------------
const CLOCK_TICKS = 100;
async function statFields(pid) {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}
/** CPU seconds of a server's processes so far, exited backends included (the postmaster's cutime). */
async function serverCpu(postmaster) {
  const own = async () =>
    (await statFields(postmaster)).slice(11, 15).reduce((s, v) => s + Number(v), 0);
  for (;;) {
    const before = await own();
    let children = 0;
    for (const entry of await readdir('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const f = await statFields(entry);
        if (Number(f[1]) === postmaster) children += Number(f[11]) + Number(f[12]);
      } catch {
        // exited while read: now in the postmaster's cutime
      }
    }
    if ((await own()) === before) return (before + children) / CLOCK_TICKS;
  }
}

function run(command, args, env = {}) {
  const started = process.hrtime.bigint();
  const child = spawn(command, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code !== 0) reject(new Error(`${command} exited ${code}: ${stderr.slice(-2000)}`));
      else resolve({ seconds, stderr });
    });
  });
}

/** A shell pipeline, wall and its processes' CPU (bash's `times`). */
async function shell(command, env) {
  const r = await run(
    'bash',
    ['-o', 'pipefail', '-c', `${command}\nrc=$?; times >&2; exit $rc`],
    env,
  );
  const m = /(\d+)m([\d.]+)s (\d+)m([\d.]+)s\s*$/.exec(r.stderr);
  const cpu = m ? Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4]) : NaN;
  return { seconds: r.seconds, clientCpu: cpu };
}

// --- one version's pair of servers -------------------------------------------------------------
async function sql(server, text, params) {
  const client = new pg.Client({ connectionString: server.url() });
  await client.connect();
  try {
    return await client.query(text, params);
  } finally {
    await client.end();
  }
}
async function postmasterOf(server) {
  const client = new pg.Client({ connectionString: server.url() });
  await client.connect();
  try {
    const { rows } = await client.query('SELECT pg_backend_pid() AS pid');
    return Number((await statFields(rows[0].pid))[1]); // read while the backend lives
  } finally {
    await client.end();
  }
}
const libpq = (s) => `host=${s.host} port=${s.port} user=${s.user} dbname=postgres sslmode=disable`;

async function digest(server, table) {
  const { rows } = await sql(
    server,
    `SELECT count(*)::int AS count,
            coalesce(sum(('x' || substr(md5(r::text), 1, 15))::bit(60)::bigint::numeric), 0)::text AS digest
       FROM ${table} r`,
  );
  return `${rows[0].count}/${rows[0].digest}`;
}

/**
 * Samples what a server's busy backends wait on every 50 ms until stopped: the share of samples on
 * CPU (no wait event), waiting for the client (ClientRead: starved of COPY data; ClientWrite: the
 * reader is not taking the rows), or waiting on anything else (I/O, WAL, locks).
 */
async function sampleWaits(server) {
  const client = new pg.Client({ connectionString: server.url() });
  await client.connect();
  const tally = new Map();
  let samples = 0;
  let ticks = 0;
  let vacuumTicks = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const { rows } = await client.query(
        `SELECT CASE WHEN backend_type = 'autovacuum worker' THEN 'autovacuum'
                     ELSE coalesce(wait_event, 'CPU') END AS w
           FROM pg_stat_activity
          WHERE (backend_type = 'client backend' AND state = 'active' OR backend_type = 'autovacuum worker')
            AND pid <> pg_backend_pid()`,
      );
      ticks += 1;
      if (rows.some(({ w }) => w === 'autovacuum')) vacuumTicks += 1;
      for (const { w } of rows) {
        if (w === 'autovacuum') continue;
        tally.set(w, (tally.get(w) ?? 0) + 1);
        samples += 1;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  return async () => {
    stopped = true;
    await loop;
    await client.end();
    const share = (names) =>
      names.reduce((n, w) => n + (tally.get(w) ?? 0), 0) / Math.max(samples, 1);
    if (samples === 0) return 'no busy backend';
    const other = 1 - share(['CPU', 'ClientRead', 'ClientWrite']);
    const others = [...tally]
      .filter(([w]) => !['CPU', 'ClientRead', 'ClientWrite', 'autovacuum'].includes(w))
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([w, n]) => `${w} ${((100 * n) / samples).toFixed(0)}%`);
    return `CPU ${(100 * share(['CPU'])).toFixed(0)}% ClientRead ${(100 * share(['ClientRead'])).toFixed(0)}% ClientWrite ${(100 * share(['ClientWrite'])).toFixed(0)}% other ${(100 * other).toFixed(0)}%${others.length ? ` (${others.join(', ')})` : ''}${vacuumTicks ? `, autovacuum ${((100 * vacuumTicks) / ticks).toFixed(0)}% of the time` : ''}`;
  };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function profileVersion(version, binDir, work) {
  const settings = { max_wal_size: '8GB', checkpoint_timeout: '30min' };
  const source = await startLocalPostgres({ binDir, name: `prof${version}src`, settings });
  const target = await startLocalPostgres({ binDir, name: `prof${version}dst`, settings });
  try {
    const sourcePm = await postmasterOf(source);
    const targetPm = await postmasterOf(target);
    const env = { SRC_PW: source.password, DST_PW: target.password };
    for (const shapeName of values.shapes.split(',')) {
      const shape = SHAPES[shapeName];
      const table = `public.${shapeName}`;
      let t = Date.now();
      await sql(
        source,
        `CREATE TABLE ${table} (${shape.columns}); INSERT INTO ${table} ${shape.fill(shape.rows)}`,
      );
      await sql(source, `VACUUM (FREEZE, ANALYZE) ${table}`);
      await sql(source, 'CHECKPOINT');
      await sql(target, `CREATE TABLE ${table} (${shape.columns})`);
      await sql(target, 'CREATE EXTENSION IF NOT EXISTS pg_visibility');
      const expected = await digest(source, table);
      const file = join(work, `${version}-${shapeName}.bin`);
      await sql(source, `COPY ${table} TO '${file}' (FORMAT binary)`);
      const { rows: size } = await sql(source, `SELECT pg_table_size('${table}') AS b`);
      process.stdout.write(
        `\nPostgreSQL ${version}, ${shapeName}: ${shape.rows} rows, ${(Number(size[0].b) / 2 ** 20).toFixed(0)} MB on disk, ` +
          `${((await stat(file)).size / 2 ** 20).toFixed(0)} MB binary COPY (made in ${((Date.now() - t) / 1000).toFixed(0)} s)\n`,
      );
      const config = join(work, `${version}-${shapeName}.yaml`);
      const endpoint = (s) => ({
        host: s.host,
        port: s.port,
        database: 'postgres',
        user: s.user,
        password: s.password,
        schema: 'public',
        sslmode: 'disable',
      });
      await writeFile(
        config,
        stringify({
          source: endpoint(source),
          targets: [{ name: 'target', ...endpoint(target), tables: [shapeName] }],
          options: { mode: 'truncate' },
        }),
      );
      const psql = (conn, pw, ...commands) =>
        `PGPASSWORD=$${pw} psql -X -q -v ON_ERROR_STOP=1 "${conn}" ${commands.map((c) => `-c "${c}"`).join(' ')}`;
      const methods = [
        {
          name: 'pgcopy',
          go: async () => {
            const started = process.hrtime.bigint();
            const r = await run(process.execPath, [
              ...NODE_ARGS,
              '--require',
              preload,
              bin,
              'run',
              '-c',
              config,
              '--quiet',
            ]);
            const kb = Number(/PGCOPY_MAX_RSS_KB=(\d+)/.exec(r.stderr)?.[1] ?? NaN);
            const us = Number(/PGCOPY_CPU_US=(\d+)/.exec(r.stderr)?.[1] ?? NaN);
            return {
              seconds: Number(process.hrtime.bigint() - started) / 1e9,
              clientCpu: us / 1e6,
              rssMb: kb / 1024,
            };
          },
        },
        {
          name: 'binary pipe',
          go: () =>
            shell(
              `${psql(libpq(source), 'SRC_PW', `\\copy ${table} TO STDOUT (FORMAT binary)`)} | ` +
                psql(
                  libpq(target),
                  'DST_PW',
                  `BEGIN; TRUNCATE ${table}`,
                  `\\copy ${table} FROM STDIN (FORMAT binary)`,
                  'COMMIT',
                ),
              env,
            ),
        },
        {
          name: 'ingest',
          go: () =>
            shell(
              psql(
                libpq(target),
                'DST_PW',
                `BEGIN; TRUNCATE ${table}; COPY ${table} FROM '${file}' (FORMAT binary, FREEZE); COMMIT`,
              ),
              env,
            ),
        },
      ].filter((m) => ONLY.test(m.name));
      const samples = new Map(methods.map((m) => [m.name, []]));
      for (let round = 0; round < ROUNDS; round++) {
        const order = round % 2 === 0 ? methods : [...methods].reverse();
        for (const method of order) {
          // Every run starts from the same state: the last run's WAL checkpointed, nothing pending.
          await sql(target, `TRUNCATE ${table}`);
          await sql(target, 'CHECKPOINT');
          const src0 = await serverCpu(sourcePm);
          const dst0 = await serverCpu(targetPm);
          const load = loadavg()[0];
          const lsn = (await sql(target, 'SELECT pg_current_wal_lsn() AS l')).rows[0].l;
          const waits = [await sampleWaits(source), await sampleWaits(target)];
          const sample = await method.go();
          const [sourceWaits, targetWaits] = await Promise.all(waits.map((stop) => stop()));
          sample.sourceCpu = (await serverCpu(sourcePm)) - src0;
          sample.targetCpu = (await serverCpu(targetPm)) - dst0;
          sample.load = load;
          // The WAL the run wrote on the target, and whether its rows were written frozen.
          const { rows: after } = await sql(
            target,
            `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1) AS wal, v.all_frozen, pg_relation_size(c.oid) / 8192 AS relpages
               FROM pg_visibility_map_summary('${table}') v, pg_class c WHERE c.oid = '${table}'::regclass`,
            [lsn],
          );
          sample.walMb = Number(after[0].wal) / 2 ** 20;
          sample.frozen = `${after[0].all_frozen}/${after[0].relpages}`;
          if (round === 0) {
            const got = await digest(target, table);
            if (got !== expected)
              throw new Error(`${method.name}: target holds ${got}, source ${expected}`);
          }
          samples.get(method.name).push(sample);
          process.stdout.write(
            `  round ${round + 1} ${method.name.padEnd(12)} ${sample.seconds.toFixed(2)} s wall; CPU s: client ${sample.clientCpu.toFixed(2)}, ` +
              `source ${sample.sourceCpu.toFixed(2)}, target ${sample.targetCpu.toFixed(2)}` +
              (sample.rssMb ? `; peak RSS ${sample.rssMb.toFixed(0)} MB` : '') +
              `; load ${load.toFixed(2)}\n      source: ${sourceWaits}; target: ${targetWaits}; target WAL ${sample.walMb.toFixed(0)} MB, all-frozen pages ${sample.frozen}\n`,
          );
        }
      }
      const med = (name, key) => median(samples.get(name)?.map((s) => s[key]) ?? [NaN]);
      process.stdout.write(
        `  medians of ${ROUNDS} (wall; CPU client/source/target; range of wall):\n`,
      );
      for (const m of methods) {
        const walls = samples.get(m.name).map((s) => s.seconds);
        process.stdout.write(
          `    ${m.name.padEnd(12)} ${med(m.name, 'seconds').toFixed(2)} s; ${med(m.name, 'clientCpu').toFixed(2)} / ` +
            `${med(m.name, 'sourceCpu').toFixed(2)} / ${med(m.name, 'targetCpu').toFixed(2)}; ` +
            `${Math.min(...walls).toFixed(2)}-${Math.max(...walls).toFixed(2)}\n`,
        );
      }
      const p = med('pgcopy', 'seconds');
      process.stdout.write(
        `  pgcopy / binary pipe ${(p / med('binary pipe', 'seconds')).toFixed(2)}x, pgcopy / ingest ${(p / med('ingest', 'seconds')).toFixed(2)}x` +
          `, pgcopy peak RSS ${Math.max(...(samples.get('pgcopy') ?? []).map((s) => s.rssMb)).toFixed(0)} MB\n`,
      );
      await sql(source, `DROP TABLE ${table}`);
      await sql(target, `DROP TABLE ${table}`);
      await rm(file, { force: true });
    }
  } finally {
    await Promise.allSettled([source.stop(), target.stop()]);
  }
}

const work = await mkdtemp(join(tmpdir(), 'pgcopy-profile-'));
await chmod(work, 0o777); // the servers write the COPY files here
try {
  process.stdout.write(
    `load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(
        ' ',
      )} (${(await readFile('/proc/cpuinfo', 'utf8')).match(/^processor/gm).length} CPUs)\n`,
  );
  for (const version of values.versions.split(',').map(Number)) {
    const binDir = version === 15 ? debianPg15BinDir() : embeddedBinDir();
    if (!binDir) {
      process.stdout.write(`PostgreSQL ${version}: not installed, skipped\n`);
      continue;
    }
    await profileVersion(version, binDir, work);
  }
  process.stdout.write(
    `\nload average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}\n`,
  );
} finally {
  await rm(work, { recursive: true, force: true });
}
