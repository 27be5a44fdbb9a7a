import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workDir } from '../test/support/cli.js';
import { endpointOf } from '../test/support/config.js';
import { servers, sql, uniqueName } from '../test/support/db.js';
import { createMixedSource, median, runPgcopy, MIXED_COLUMNS } from './support.js';

/**
 * What COPY FREEZE buys in truncate mode: the same rows loaded by `truncate` (TRUNCATE and
 * COPY ... FREEZE in one transaction) and by `append` into a table emptied just before (plain
 * COPY), each followed by the VACUUM (FREEZE) that the rows need sooner or later.
 */
const ROWS = Number(process.env.PGCOPY_BENCH_ROWS ?? 2_000_000);
const ROUNDS = Number(process.env.PGCOPY_BENCH_ROUNDS ?? 3);
const schema = uniqueName('bench_freeze');
const q = `"${schema}"`;
const s = servers();

beforeAll(async () => {
  await createMixedSource(s.source, q, ROWS);
  await sql(s.target1, `CREATE SCHEMA ${q}; CREATE TABLE ${q}.mixed (${MIXED_COLUMNS});`);
}, 900_000);

afterAll(async () => {
  await sql(s.source, `DROP SCHEMA ${q} CASCADE`);
  await sql(s.target1, `DROP SCHEMA ${q} CASCADE`);
});

async function seconds(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return (performance.now() - started) / 1000;
}

describe('COPY FREEZE in truncate mode', () => {
  it(`loads ${ROWS.toLocaleString('en-US')} rows frozen, and what the later VACUUM costs`, async () => {
    const modes = ['truncate', 'append'] as const;
    const work = await Promise.all(
      modes.map((mode) =>
        workDir({
          source: endpointOf(s.source, schema),
          targets: [{ name: 'db_1', ...endpointOf(s.target1, schema), tables: ['mixed'] }],
          options: { mode },
        }),
      ),
    );
    const load = new Map<string, number[]>();
    const vacuum = new Map<string, number[]>();
    const add = (into: Map<string, number[]>, key: string, value: number): void => {
      into.set(key, [...(into.get(key) ?? []), value]);
    };
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const order = round % 2 === 0 ? [0, 1] : [1, 0];
        for (const i of order) {
          const mode = modes[i] as (typeof modes)[number];
          const dir = work[i] as Awaited<ReturnType<typeof workDir>>;
          await sql(s.target1, `TRUNCATE ${q}.mixed; CHECKPOINT`);
          const p = await runPgcopy(['run', '-c', dir.file, '--quiet'], dir.dir);
          expect(p.code, p.stderr).toBe(0);
          add(load, mode, p.seconds);
          const { rows } = await sql(s.target1, `SELECT count(*)::int AS n FROM ${q}.mixed`);
          expect(rows[0]).toEqual({ n: ROWS });
          add(vacuum, mode, await seconds(() => sql(s.target1, `VACUUM (FREEZE) ${q}.mixed`)));
        }
      }
    } finally {
      await Promise.all(work.map((w) => w.cleanup()));
    }
    const line = (mode: string, what: string): string => {
      const l = median(load.get(mode) ?? []);
      const v = median(vacuum.get(mode) ?? []);
      return `  ${what.padEnd(44)} load ${l.toFixed(2)} s, then VACUUM (FREEZE) ${v.toFixed(2)} s, together ${(l + v).toFixed(2)} s`;
    };
    process.stdout.write(
      `\nCOPY FREEZE: ${ROWS.toLocaleString('en-US')} rows, ${ROUNDS} rounds alternating, medians\n` +
        `${line('truncate', 'truncate (TRUNCATE + COPY FREEZE)')}\n${line('append', 'append into an emptied table (plain COPY)')}\n`,
    );
  });
});
