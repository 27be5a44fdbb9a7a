import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workDir } from '../test/support/cli.js';
import { endpointOf } from '../test/support/config.js';
import { servers, sql, uniqueName } from '../test/support/db.js';
import type { ServerInfo } from '../test/support/server-info.js';
import {
  createMixedSource,
  median,
  runPgcopy,
  rowsDigest,
  postmasterOf,
  serverCpuSeconds,
  timeShell,
  MIXED_COLUMNS,
} from './support.js';

/**
 * Whether dropping a big target's secondary indexes and building them again after the load, in the
 * same transaction, pays: the same truncate-and-load into a table with a primary key and two
 * secondary indexes, through psql (keeping the indexes, or dropping the secondary ones first and
 * creating them again before COMMIT) and through pgcopy in truncate mode (rebuildIndexes off and
 * on). Beside wall time, the CPU seconds of the loading process and of the whole target server,
 * which other work on the machine changes less.
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
  await createMixedSource(s.source, q, ROWS, COLUMNS);
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

/**
 * One psql pipe: the target side runs `before`, the COPY and `after` in one transaction; `freeze`
 * loads as pgcopy does in truncate mode (`COPY ... FREEZE`, the rows written frozen).
 */
function pipe(before: string[], after: string[], freeze = false): string {
  const target = [
    'BEGIN',
    `TRUNCATE ${q}.mixed`,
    ...before,
    `\\copy ${q}.mixed FROM STDIN (FORMAT binary${freeze ? ', FREEZE' : ''})`,
    ...after,
    'COMMIT',
  ];
  return (
    `PGPASSWORD=$SRC_PW psql -X -q "${conn(s.source)}" -c "\\copy ${q}.mixed TO STDOUT (FORMAT binary)" | ` +
    `PGPASSWORD=$DST_PW psql -X -q -v ON_ERROR_STOP=1 "${conn(s.target1)}" ` +
    target.map((c) => `-c "${c}"`).join(' ')
  );
}

/** A pgcopy run in truncate mode with the given rebuildIndexes setting. */
function pgcopyConfig(rebuildIndexes: unknown): unknown {
  return {
    source: endpointOf(s.source, schema),
    targets: [{ name: 'db_1', ...endpointOf(s.target1, schema), tables: ['mixed'] }],
    options: { mode: 'truncate', rebuildIndexes },
  };
}

interface Sample {
  readonly seconds: number;
  /** The loading process's CPU seconds (psql pair, or pgcopy). */
  readonly cpu: number;
  readonly serverCpu: number;
}

describe('secondary indexes on a big target: kept during the load, or rebuilt after it', () => {
  it(`loads ${ROWS.toLocaleString('en-US')} rows both ways, through psql and through pgcopy`, async () => {
    const env = { SRC_PW: s.source.password, DST_PW: s.target1.password };
    const work = {
      off: await workDir(pgcopyConfig(false)),
      on: await workDir(pgcopyConfig({ minBytes: '1MB' })),
    };
    const shell = (command: string) => async () => {
      const r = await timeShell(command, env);
      expect(r.code, r.stderr).toBe(0);
      return { seconds: r.seconds, cpu: r.cpuSeconds };
    };
    const pgcopy = (dir: Awaited<ReturnType<typeof workDir>>) => async () => {
      const p = await runPgcopy(['run', '-c', dir.file, '--quiet'], dir.dir);
      expect(p.code, p.stderr).toBe(0);
      return { seconds: p.seconds, cpu: p.cpuSeconds };
    };
    const methods: Record<string, () => Promise<{ seconds: number; cpu: number }>> = {
      'psql, indexes kept during the load': shell(pipe([], [])),
      'psql, secondary indexes dropped and created again': shell(
        pipe([`DROP INDEX ${q}.mixed_sensor, ${q}.mixed_observed`], INDEXES),
      ),
      'psql FREEZE, secondary indexes dropped and created again': shell(
        pipe([`DROP INDEX ${q}.mixed_sensor, ${q}.mixed_observed`], INDEXES, true),
      ),
      'pgcopy truncate, rebuildIndexes: false': pgcopy(work.off),
      'pgcopy truncate, rebuildIndexes on': pgcopy(work.on),
    };
    const samples = new Map<string, Sample[]>();
    const expected = await rowsDigest(s.source, `SELECT * FROM ${q}.mixed`);
    const postmaster = await postmasterOf(s.target1);
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const names = Object.keys(methods);
        for (const name of round % 2 === 0 ? names : names.reverse()) {
          await sql(s.target1, 'CHECKPOINT');
          const serverBefore = await serverCpuSeconds(postmaster);
          const r = await (methods[name] as () => Promise<{ seconds: number; cpu: number }>)();
          const serverCpu = (await serverCpuSeconds(postmaster)) - serverBefore;
          samples.set(name, [...(samples.get(name) ?? []), { ...r, serverCpu }]);
          const { rows } = await sql(
            s.target1,
            `SELECT (SELECT count(*)::int FROM pg_catalog.pg_indexes
                WHERE schemaname = '${schema}' AND tablename = 'mixed') AS indexes`,
          );
          expect(rows[0]).toEqual({ indexes: 3 });
          expect(await rowsDigest(s.target1, `SELECT * FROM ${q}.mixed`)).toEqual(expected);
        }
      }
    } finally {
      await Promise.all([work.off.cleanup(), work.on.cleanup()]);
    }
    const of = (name: string, key: keyof Sample): number =>
      median((samples.get(name) ?? []).map((x) => x[key]));
    const kept = of('psql, indexes kept during the load', 'seconds');
    process.stdout.write(
      `\nsecondary indexes: ${ROWS.toLocaleString('en-US')} rows, ${ROUNDS} rounds alternating, medians` +
        ` (wall s, ratio to psql keeping them; CPU s of the loading process; CPU s of the target server)\n` +
        [...samples.keys()]
          .map(
            (name) =>
              `  ${name.padEnd(52)} ${of(name, 'seconds').toFixed(2)} s  ${(of(name, 'seconds') / kept).toFixed(2)}` +
              `  cpu ${of(name, 'cpu').toFixed(2)} s  target server cpu ${of(name, 'serverCpu').toFixed(2)} s`,
          )
          .join('\n') +
        '\n',
    );
  });
});
