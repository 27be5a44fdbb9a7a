import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/copy/run.js';
import type { Mode } from '../../src/config/types.js';
import type { RunEvent } from '../../src/report/events.js';
import { testConfig } from '../support/config.js';
import { servers, sql, tableDigest, uniqueName } from '../support/db.js';
import { result } from '../support/report.js';

/**
 * The stream path no longer walks the COPY data in JavaScript: progress is bytes against the plan's
 * estimate, and a table's row count is the target's `COPY n`. Pinned for every mode (upsert loads a
 * staging table first), both formats (a type difference forces text), and --verify.
 */
const schema = uniqueName('Stream Progress');
const q = `"${schema}"`;
const s = servers();
const ROWS = 30_000;

beforeAll(async () => {
  const rows = `SELECT g, 'row ' || g, g / 3.0 FROM generate_series(1, ${ROWS}) g`;
  await sql(
    s.source,
    `CREATE SCHEMA ${q};
     CREATE TABLE ${q}.same (id int PRIMARY KEY, label text, amount numeric);
     CREATE TABLE ${q}.widened (id int PRIMARY KEY, label text, amount numeric);
     INSERT INTO ${q}.same ${rows}; INSERT INTO ${q}.widened ${rows};
     ANALYZE ${q}.same, ${q}.widened;`,
  );
  await sql(
    s.target1,
    `CREATE SCHEMA ${q};
     CREATE TABLE ${q}.same (id int PRIMARY KEY, label text, amount numeric);
     CREATE TABLE ${q}.widened (id bigint PRIMARY KEY, label varchar(100), amount float8);`,
  );
});

afterAll(async () => {
  await sql(s.source, `DROP SCHEMA ${q} CASCADE`);
  await sql(s.target1, `DROP SCHEMA ${q} CASCADE`);
});

describe('stream fast path: progress on bytes, rows from PostgreSQL', () => {
  for (const mode of ['append', 'truncate', 'upsert'] satisfies Mode[]) {
    it(`${mode}: progress events carry bytes up to the report's; rows are the target's COPY count`, async () => {
      await sql(
        s.target1,
        `TRUNCATE ${q}.same, ${q}.widened; INSERT INTO ${q}.same VALUES (-1, 'already here', 0)`,
      );
      const events: RunEvent[] = [];
      const config = testConfig(
        { server: s.source, schema },
        [{ name: 'db_1', server: s.target1, schema, tables: ['same', 'widened'] }],
        { mode },
      );
      const { report } = await run(config, {
        verify: true,
        progressIntervalMs: 0,
        onEvent: (e) => events.push(e),
      });
      for (const [table, format] of [
        ['same', 'binary'],
        ['widened', 'text'],
      ] as const) {
        const start = events.find((e) => e.type === 'table-start' && e.ref.table === table);
        expect(start).toMatchObject({ format });
        expect(start?.type === 'table-start' && start.estimatedBytes).toBeGreaterThan(0);
        const progress = events.flatMap((e) =>
          e.type === 'table-progress' && e.ref.table === table ? [e] : [],
        );
        expect(progress.length).toBeGreaterThan(0);
        for (const p of progress)
          expect(Object.keys(p).sort()).toEqual([
            'bytes',
            'ref',
            'runId',
            'seconds',
            'type',
            'version',
          ]);
        const bytes = progress.map((p) => p.bytes);
        expect(bytes).toEqual([...bytes].sort((a, b) => a - b));
        const done = result(report, table);
        expect([done.error, done.rows, done.verified?.rows]).toEqual([null, ROWS, ROWS]);
        expect(bytes.at(-1)).toBe(done.bytes);
        const copied = await tableDigest(
          s.target1,
          `SELECT id::int, label::text, amount::numeric FROM ${q}.${table} WHERE id > 0`,
        );
        expect(copied.count).toBe(ROWS);
      }
      // truncate empties the target first; append and upsert keep the row it had.
      const kept = await sql(s.target1, `SELECT count(*)::int AS n FROM ${q}.same WHERE id = -1`);
      expect((kept.rows[0] as { n: number }).n).toBe(mode === 'truncate' ? 0 : 1);
    });
  }
});
