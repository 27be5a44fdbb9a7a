import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/copy/run.js';
import type { RunEvent } from '../../src/report/events.js';
import { result } from '../support/report.js';
import { servers, sql, tableDigest, uniqueName } from '../support/db.js';
import { testConfig } from '../support/config.js';

const schema = uniqueName('Copy Atomic');
const q = `"${schema}"`;
const s = servers();
const ROWS = 600_000;
const FAIL_AT = 500_000;
/** The fewest bytes a row of `big` takes in binary COPY: field count 2, id 4 + 4, payload 4 + 'row 1'. */
const MIN_ROW_BYTES = 19;

/** Pre-existing target rows (negative ids never clash with the source's 1..600,000). */
const OLD_ROWS = `SELECT -g, 'old ' || g FROM generate_series(1, 1000) g`;

beforeAll(async () => {
  await sql(
    s.source,
    `CREATE SCHEMA ${q};
     CREATE TABLE ${q}.big (id int PRIMARY KEY, payload text);
     INSERT INTO ${q}.big SELECT g, 'row ' || g FROM generate_series(1, ${ROWS}) g;
     CREATE TABLE ${q}.small (id int PRIMARY KEY, payload text);
     INSERT INTO ${q}.small SELECT g, 'small ' || g FROM generate_series(1, 100) g;
     ANALYZE ${q}.big, ${q}.small;`,
  );
  await sql(
    s.target1,
    `CREATE SCHEMA ${q};
     CREATE TABLE ${q}.big_check (id int PRIMARY KEY, payload text, CONSTRAINT not_that_one CHECK (id <> ${FAIL_AT}));
     INSERT INTO ${q}.big_check ${OLD_ROWS};
     CREATE TABLE ${q}.big_unique (id int PRIMARY KEY, payload text);
     INSERT INTO ${q}.big_unique ${OLD_ROWS};
     INSERT INTO ${q}.big_unique VALUES (${FAIL_AT}, 'already here');
     CREATE TABLE ${q}.big_truncate (id int PRIMARY KEY, payload text, CHECK (id <> ${FAIL_AT}));
     INSERT INTO ${q}.big_truncate ${OLD_ROWS};
     CREATE TABLE ${q}.big_source_error (id int PRIMARY KEY, payload text);
     INSERT INTO ${q}.big_source_error ${OLD_ROWS};
     CREATE TABLE ${q}.big_aborted (id int PRIMARY KEY, payload text);
     INSERT INTO ${q}.big_aborted ${OLD_ROWS};
     CREATE TABLE ${q}.small (id int PRIMARY KEY, payload text);
     INSERT INTO ${q}.small ${OLD_ROWS};`,
  );
});

afterAll(async () => {
  for (const server of [s.source, s.target1]) await sql(server, `DROP SCHEMA ${q} CASCADE`);
});

async function digests(tables: readonly string[]): Promise<Map<string, unknown>> {
  const out = new Map<string, unknown>();
  for (const t of tables) out.set(t, await tableDigest(s.target1, `SELECT * FROM ${q}.${t}`));
  return out;
}

/** pgcopy sessions still reading this file's schema on the source (polls: backends exit async). */
async function openPgcopySessions(): Promise<number> {
  let open = 0;
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const r = await sql(
      s.source,
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE application_name = 'pgcopy' AND strpos(query, $1) > 0`,
      [schema],
    );
    open = (r.rows[0] as { n: number }).n;
    if (open === 0) return 0;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return open;
}

describe('atomic per table', () => {
  it('a failure in the middle of a table leaves that table exactly as it was; the others complete', async () => {
    const failing = ['big_check', 'big_unique', 'big_truncate', 'big_source_error'];
    const before = await digests(failing);
    const events: RunEvent[] = [];
    const config = testConfig({ server: s.source, schema }, [
      {
        name: 'one',
        server: s.target1,
        schema,
        tables: [
          { name: 'big', target: 'big_check' },
          { name: 'big', target: 'big_unique' },
          { name: 'big', target: 'big_truncate', mode: 'truncate' },
          // Division by zero on the source at id 500,000: an error from the COPY TO side.
          { name: 'big', target: 'big_source_error', where: `100 / (id - ${FAIL_AT}) > -1000` },
          'small',
        ],
      },
    ]);
    const { report } = await run(config, {
      concurrency: 2,
      onEvent: (e) => events.push(e),
      progressIntervalMs: 0,
    });
    expect(report?.status).toBe('error');

    const check = result(report, 'big_check');
    expect([check.status, check.rows, check.error?.code, check.error?.sqlstate]).toEqual([
      'error',
      0,
      'POSTGRES',
      '23514',
    ]);
    expect(check.error?.message).toContain('not_that_one');
    expect(check.error?.message).toContain(`line ${FAIL_AT}`);

    const unique = result(report, 'big_unique');
    expect([unique.status, unique.error?.sqlstate]).toEqual(['error', '23505']);
    expect(unique.error?.message).toContain(`(id)=(${FAIL_AT})`);

    const truncate = result(report, 'big_truncate');
    expect([truncate.status, truncate.mode, truncate.error?.sqlstate]).toEqual([
      'error',
      'truncate',
      '23514',
    ]);

    const sourceError = result(report, 'big_source_error');
    expect([sourceError.status, sourceError.error?.sqlstate]).toEqual(['error', '22012']);

    // Each failing table streamed most of its rows before failing, and every event names its table.
    for (const table of failing) {
      const progress = events.flatMap((e) =>
        e.type === 'table-progress' && e.ref.table === table ? [e.bytes] : [],
      );
      expect(Math.max(...progress)).toBeGreaterThan((FAIL_AT / 2) * MIN_ROW_BYTES);
      const failed = events.find((e) => e.type === 'table-failed' && e.result.table === table);
      expect(failed).toBeDefined();
    }

    // Not one row of a failed table was kept (truncate included: the old rows are back).
    expect(await digests(failing)).toEqual(before);
    expect((await tableDigest(s.target1, `SELECT * FROM ${q}.big_check`)).count).toBe(1000);

    const small = result(report, 'small');
    expect([small.status, small.rows, small.error]).toEqual(['done', 100, null]);
    const smallRows = await sql(
      s.target1,
      `SELECT count(*) FILTER (WHERE id < 0)::int AS old, count(*) FILTER (WHERE id > 0)::int AS new FROM ${q}.small`,
    );
    expect(smallRows.rows).toEqual([{ old: 1000, new: 100 }]);

    // The failed loads left no session behind on the source, and the target tables stay usable.
    expect(await openPgcopySessions()).toBe(0);
    await sql(s.target1, `INSERT INTO ${q}.big_check VALUES (1, 'after')`);
    await sql(s.target1, `DELETE FROM ${q}.big_check WHERE id = 1`);
  });

  it('an interrupt in the middle of a table rolls it back and reports ABORTED', async () => {
    const before = await digests(['big_aborted']);
    const controller = new AbortController();
    const config = testConfig({ server: s.source, schema }, [
      { name: 'one', server: s.target1, schema, tables: [{ name: 'big', target: 'big_aborted' }] },
    ]);
    const { report } = await run(config, {
      signal: controller.signal,
      progressIntervalMs: 0,
      onEvent: (e) => {
        if (e.type === 'table-progress' && e.bytes > 100_000 * MIN_ROW_BYTES)
          controller.abort(new Error('stop'));
      },
    });
    const aborted = result(report, 'big_aborted');
    expect([aborted.status, aborted.error?.code]).toEqual(['error', 'ABORTED']);
    expect(await digests(['big_aborted'])).toEqual(before);
    expect(await openPgcopySessions()).toBe(0);
  });
});
