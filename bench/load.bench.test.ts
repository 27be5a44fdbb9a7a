import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerInfo } from '../test/support/server-info.js';
import { servers, sql, uniqueName } from '../test/support/db.js';
import { endpointOf } from '../test/support/config.js';
import { workDir } from '../test/support/cli.js';
import { median, runPgcopy } from './support.js';

const TABLES = Number(process.env.PGCOPY_BENCH_TABLES ?? 200);
const ROWS = Number(process.env.PGCOPY_BENCH_TABLE_ROWS ?? 5_000);
const CONCURRENCY = 8;
const VERIFY_ROWS = Number(process.env.PGCOPY_BENCH_ROWS ?? 1_000_000);
const ROUNDS = 3;
const schema = uniqueName('bench_load');
const q = `"${schema}"`;
const s = servers();
const targets = [s.target1, s.target2, s.pg15 ?? s.target1];
const names = Array.from({ length: TABLES }, (_, i) => `t${String(i).padStart(3, '0')}`);

/** pgcopy's sessions on a server now, oldest first (pid, start, state, statement). */
async function connections(server: ServerInfo): Promise<string[]> {
  const { rows } = await sql(
    server,
    `SELECT format('%s %s %s %s', pid, backend_start, state, left(query, 50)) AS session
       FROM pg_stat_activity
      WHERE application_name = 'pgcopy' AND pid <> pg_backend_pid() ORDER BY backend_start`,
  );
  return rows.map((r) => (r as { session: string }).session);
}

beforeAll(async () => {
  const create = (i: string): string =>
    `CREATE TABLE ${q}.${i} (id int PRIMARY KEY, label text, amount numeric(12,2), at timestamptz);`;
  await sql(
    s.source,
    `CREATE SCHEMA ${q}; ${names.map(create).join('\n')}
     ${names
       .map(
         (n) =>
           `INSERT INTO ${q}.${n} SELECT g, md5(g::text), g / 100.0, now() FROM generate_series(1, ${ROWS}) g;`,
       )
       .join('\n')}
     CREATE TABLE ${q}.wide (id bigint, sensor int, observed_at timestamptz, reading float8, label text);
     INSERT INTO ${q}.wide SELECT g, g % 1000, '2026-01-01'::timestamptz + g * interval '1 second',
       g / 7.0, 'label ' || md5(g::text) FROM generate_series(1, ${VERIFY_ROWS}) g;`,
  );
  await sql(s.source, 'VACUUM (FREEZE, ANALYZE)');
  for (const t of new Set(targets)) {
    await sql(
      t,
      `CREATE SCHEMA ${q}; ${names.map(create).join('\n')}
       CREATE TABLE ${q}.wide (id bigint, sensor int, observed_at timestamptz, reading float8, label text);`,
    );
  }
}, 900_000);

afterAll(async () => {
  for (const t of new Set([s.source, ...targets])) {
    await sql(t, `DROP SCHEMA IF EXISTS ${q} CASCADE`);
  }
});

describe('load: many tables to three targets, every table verified', () => {
  it(`${TABLES} tables x ${ROWS} rows to 3 targets at concurrency ${CONCURRENCY} with --verify, within concurrency + 1 connections per server`, async () => {
    const work = await workDir({
      source: endpointOf(s.source, schema),
      targets: targets.map((t, i) => ({
        name: `db_${i + 1}`,
        ...endpointOf(t, schema),
        tables: names,
      })),
      options: { mode: 'truncate', concurrency: CONCURRENCY },
    });
    // The largest set of pgcopy sessions seen on each server, kept whole so that a breach of the
    // bound shows which sessions they were.
    const peak = new Map<ServerInfo, string[]>();
    const sampling = { on: true };
    const sampler = (async () => {
      while (sampling.on) {
        for (const server of new Set([s.source, ...targets])) {
          const now = await connections(server);
          if (now.length > (peak.get(server)?.length ?? 0)) peak.set(server, now);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const peakOf = (server: ServerInfo): number => peak.get(server)?.length ?? 0;
    try {
      const p = await runPgcopy(['run', '-c', work.file, '--quiet', '--verify'], work.dir);
      sampling.on = false;
      await sampler;
      expect(p.code, p.stderr).toBe(0);
      const pairs = TABLES * targets.length;
      console.log(
        `load: ${pairs} pairs (${TABLES} tables x ${ROWS} rows x 3 targets), concurrency ${CONCURRENCY}, --verify: ` +
          `${p.seconds.toFixed(1)} s, ${(pairs / p.seconds).toFixed(1)} pairs/s, max RSS ${p.maxRssMb.toFixed(0)} MB; ` +
          `peak pgcopy connections: source ${peakOf(s.source)}, ` +
          targets.map((t) => `${t.name} ${peakOf(t)}`).join(', '),
      );
      // The three targets may share a server when the PostgreSQL 15 one is missing.
      for (const server of new Set(targets)) {
        const share = targets.filter((t) => t === server).length;
        expect(peakOf(server), peak.get(server)?.join('\n')).toBeLessThanOrEqual(
          share * (CONCURRENCY + 1),
        );
      }
      expect(peakOf(s.source), peak.get(s.source)?.join('\n')).toBeLessThanOrEqual(CONCURRENCY + 1);
      for (const server of new Set([s.source, ...targets]))
        expect(await connections(server)).toEqual([]);
    } finally {
      sampling.on = false;
      await work.cleanup();
    }
  });

  it(`what --verify costs on one ${VERIFY_ROWS.toLocaleString('en-US')}-row table`, async () => {
    const work = await workDir({
      source: endpointOf(s.source, schema),
      targets: [{ name: 'db_1', ...endpointOf(s.target1, schema), tables: ['wide'] }],
      options: { mode: 'truncate' },
    });
    const plain: number[] = [];
    const verified: number[] = [];
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const a = await runPgcopy(['run', '-c', work.file, '--quiet'], work.dir);
        expect(a.code, a.stderr).toBe(0);
        plain.push(a.seconds);
        const b = await runPgcopy(['run', '-c', work.file, '--quiet', '--verify'], work.dir);
        expect(b.code, b.stderr).toBe(0);
        verified.push(b.seconds);
      }
      const [p, v] = [median(plain), median(verified)];
      console.log(
        `verify cost: run ${p.toFixed(2)} s, run --verify ${v.toFixed(2)} s (+${(((v - p) / p) * 100).toFixed(0)} %), median of ${ROUNDS}`,
      );
    } finally {
      await work.cleanup();
    }
  });
});
