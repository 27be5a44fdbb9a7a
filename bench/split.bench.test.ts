import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalPostgres } from '../src/demo/local-postgres.js';
import { workDir } from '../test/support/cli.js';
import { endpointOf } from '../test/support/config.js';
import { servers, sql, uniqueName } from '../test/support/db.js';
import type { ServerInfo } from '../test/support/server-info.js';
import { startPreparingTarget } from '../test/support/prepared-target.js';
import {
  createMixedSource,
  median,
  postmasterOf,
  runPgcopy,
  serverCpuSeconds,
  timeShell,
  MIXED_COLUMNS,
} from './support.js';

/**
 * options.split on two parts against one stream and the psql text pipe, and the other design the
 * issue names (parts loaded in parallel into an unlogged staging table, then moved into the
 * target in one transaction), measured as raw SQL: what it would cost at best. The target is a
 * server of this file's own: splitting needs max_prepared_transactions, which the suite's lack.
 * The key split (ranges of an integer key, for sources where block ranges cannot be used) reads a
 * partitioned copy of the same rows (one partition holding them all, primary key on id), beside
 * one stream from that copy, so that what partitioning itself costs is told apart. Besides wall
 * time, the CPU seconds of the source and target servers and of the client processes (less
 * sensitive to other load on the machine than wall time).
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
  await createMixedSource(s.source, q, ROWS);
  await sql(
    s.source,
    `CREATE TABLE ${q}.mixed_parted (${MIXED_COLUMNS}, PRIMARY KEY (id)) PARTITION BY RANGE (id);
     CREATE TABLE ${q}.mixed_all PARTITION OF ${q}.mixed_parted FOR VALUES FROM (MINVALUE) TO (MAXVALUE);
     INSERT INTO ${q}.mixed_parted SELECT * FROM ${q}.mixed;`,
  );
  // The parent itself: autovacuum never analyzes a partitioned table, and the key split's bounds
  // come from its statistics.
  await sql(s.source, `VACUUM (FREEZE, ANALYZE) ${q}.mixed_parted`);
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

/** One run of a method: wall seconds and the CPU seconds of its client processes. */
interface Run {
  readonly seconds: number;
  readonly clientCpu: number;
}

/** A run with the CPU seconds the source's and the target's servers spent in it. */
interface Figures extends Run {
  readonly sourceCpu: number;
  readonly targetCpu: number;
}

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
    const config = (split: boolean, source = 'mixed') =>
      workDir({
        source: endpointOf(s.source, schema),
        targets: [
          {
            name: 'db_1',
            ...endpointOf(target, schema),
            tables: [{ name: source, target: 'mixed' }],
          },
        ],
        options: {
          mode: 'append',
          concurrency: 2,
          ...(split ? { split: { minBytes: '1MB', parts: 2 } } : {}),
        },
      });
    const dirs = {
      one: await config(false),
      split: await config(true),
      partedOne: await config(false, 'mixed_parted'),
      partedSplit: await config(true, 'mixed_parted'),
    };
    /** Runs pgcopy on one config: wall seconds and the CPU seconds of its process. */
    const pgcopy = async (dir: { file: string; dir: string }): Promise<Run> => {
      const r = await runPgcopy(['run', '-c', dir.file, '--quiet'], dir.dir);
      expect(r.code, r.stderr).toBe(0);
      return { seconds: r.seconds, clientCpu: r.cpuSeconds };
    };
    const methods: Record<string, () => Promise<Run>> = {
      'psql text pipe': async () => {
        const r = await timeShell(pipe(`SELECT * FROM ${q}.mixed`, `${q}.mixed`), env());
        expect(r.code, r.stderr).toBe(0);
        return { seconds: r.seconds, clientCpu: r.cpuSeconds };
      },
      'pgcopy, one stream': () => pgcopy(dirs.one),
      'pgcopy, split on 2 parts (block ranges)': () => pgcopy(dirs.split),
      'pgcopy, one stream from the partitioned copy': () => pgcopy(dirs.partedOne),
      'pgcopy, split on 2 parts by key (the partitioned copy)': () => pgcopy(dirs.partedSplit),
      'staging: 2 text pipes into an unlogged table, then INSERT ... SELECT': async () => {
        const started = process.hrtime.bigint();
        const parts = await Promise.all(
          halves.map((select) => timeShell(pipe(select, `${q}.staging`), env())),
        );
        for (const p of parts) expect(p.code, p.stderr).toBe(0);
        await sql(target, `INSERT INTO ${q}.mixed SELECT * FROM ${q}.staging`);
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        return { seconds, clientCpu: parts.reduce((sum, p) => sum + p.cpuSeconds, 0) };
      },
    };
    // Each split config splits the way it is measured for.
    for (const [dir, by] of [
      [dirs.split, 'blocks'],
      [dirs.partedSplit, 'key'],
    ] as const) {
      const planned = await runPgcopy(['plan', '-c', dir.file, '--json'], dir.dir);
      const json = JSON.parse(planned.stdout) as {
        targets: { tables: { split?: { by?: string } }[] }[];
      };
      expect(json.targets[0]?.tables[0]?.split?.by).toBe(by);
    }
    const postmasters = {
      source: await postmasterOf(s.source),
      target: await postmasterOf(target),
    };
    const figures = new Map<string, Figures[]>(Object.keys(methods).map((m) => [m, []]));
    try {
      for (let round = 0; round < ROUNDS; round++) {
        // Alternate the order, so that no method always runs on a warmer (or busier) machine.
        const names = Object.keys(methods);
        for (const name of round % 2 === 0 ? names : names.reverse()) {
          await sql(target, `TRUNCATE ${q}.mixed, ${q}.staging`);
          await sql(target, 'CHECKPOINT');
          const before = await Promise.all([
            serverCpuSeconds(postmasters.source),
            serverCpuSeconds(postmasters.target),
          ]);
          const measured = await (methods[name] as () => Promise<Run>)();
          const after = await Promise.all([
            serverCpuSeconds(postmasters.source),
            serverCpuSeconds(postmasters.target),
          ]);
          figures.get(name)?.push({
            ...measured,
            sourceCpu: after[0] - before[0],
            targetCpu: after[1] - before[1],
          });
          const copied = await sql(target, `SELECT count(*)::int AS n FROM ${q}.mixed`);
          expect(copied.rows[0], name).toEqual({ n: ROWS });
        }
      }
    } finally {
      await Promise.all(Object.values(dirs).map((d) => d.cleanup()));
    }
    const of = (name: string, key: keyof Figures): number =>
      median((figures.get(name) ?? []).map((f) => f[key]));
    const baseline = of('psql text pipe', 'seconds');
    let out = `\nsplit: ${ROWS.toLocaleString('en-US')} mixed rows, ${ROUNDS} rounds, medians: wall seconds (ratio to the psql text pipe) [each round]; CPU seconds of the source server, target server, client processes\n`;
    for (const [name, runs] of figures) {
      const wall = of(name, 'seconds');
      const cpu = (['sourceCpu', 'targetCpu', 'clientCpu'] as const)
        .map((k) => of(name, k).toFixed(2))
        .join(' / ');
      out += `  ${name.padEnd(70)} ${wall.toFixed(2)} s  ${(wall / baseline).toFixed(2)}  [${runs.map((r) => r.seconds.toFixed(2)).join(', ')}]  CPU ${cpu}\n`;
    }
    process.stdout.write(out);
  });
});
