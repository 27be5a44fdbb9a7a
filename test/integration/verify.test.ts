import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/copy/run.js';
import type { RunReport } from '../../src/report/events.js';
import type { VerifyReport } from '../../src/verify/verify-tables.js';
import { cli, workDir } from '../support/cli.js';
import { endpointOf, testConfig } from '../support/config.js';
import { servers, sql, tableDigest, uniqueName } from '../support/db.js';
import { result } from '../support/report.js';

const schema = uniqueName('Verify');
const q = `"${schema}"`;
const s = servers();
/** A name that would run SQL if it were ever pasted unquoted. */
const HOSTILE = 'x"; DROP TABLE y; --';
const hostile = `"${HOSTILE.replaceAll('"', '""')}"`;
const HOSTILE_COLUMN = 'c"; DROP TABLE y; -- é';
const hostileColumn = `"${HOSTILE_COLUMN.replaceAll('"', '""')}"`;
let work: Awaited<ReturnType<typeof workDir>>;

beforeAll(async () => {
  await sql(
    s.source,
    `CREATE SCHEMA ${q};
     CREATE TABLE ${q}.y (id int);
     CREATE TABLE ${q}.${hostile} (id int PRIMARY KEY, ${hostileColumn} text, amount numeric(10,2),
       at timestamptz, f float8);
     INSERT INTO ${q}.${hostile} SELECT g, 'v' || g, g * 1.25, '2024-01-01 00:00+02'::timestamptz + g * interval '1 hour', g / 3.0
       FROM generate_series(1, 2000) g;
     CREATE TABLE ${q}.changed (id int PRIMARY KEY, v text);
     INSERT INTO ${q}.changed SELECT g, 'v' || g FROM generate_series(1, 100) g;`,
  );
  // The target stores wider types (converted on copy) and runs in another time zone.
  await sql(
    s.target1,
    `CREATE SCHEMA ${q};
     CREATE TABLE ${q}.y (id int);
     CREATE TABLE ${q}.${hostile} (id bigint PRIMARY KEY, ${hostileColumn} text, amount numeric(12,4),
       at timestamptz, f float8);
     CREATE TABLE ${q}.changed (id int PRIMARY KEY, v text);
     CREATE FUNCTION ${q}.shout() RETURNS trigger LANGUAGE plpgsql AS
       $$BEGIN IF NEW.id = 50 THEN NEW.v = upper(NEW.v); END IF; RETURN NEW; END$$;`,
  );
  work = await workDir({
    source: endpointOf(s.source, schema),
    targets: [
      {
        name: 'db_1',
        ...endpointOf(s.target1, schema),
        tables: [{ name: HOSTILE, where: 'id <= 1500' }, 'changed'],
      },
    ],
    options: { mode: 'truncate', logDir: 'logs' },
  });
});

afterAll(async () => {
  await work.cleanup();
  await sql(s.source, `DROP SCHEMA ${q} CASCADE`);
  await sql(s.target1, `DROP SCHEMA ${q} CASCADE`);
});

async function verifyJson(): Promise<{ code: number; report: VerifyReport }> {
  const out = await cli(['verify', '-c', work.file, '--json'], { cwd: work.dir });
  return { code: out.code, report: JSON.parse(out.stdout) as VerifyReport };
}

describe('pgcopy verify and run --verify', () => {
  it('run --verify verifies every table before COMMIT, hostile names and converted columns included', async () => {
    const out = await cli(['run', '-c', work.file, '--verify', '--quiet', '--report', 'r.json'], {
      cwd: work.dir,
    });
    expect(out.code).toBe(0);
    const runReport = JSON.parse(await readFile(join(work.dir, 'r.json'), 'utf8')) as RunReport;
    expect(result(runReport, HOSTILE)).toMatchObject({ error: null, verified: { rows: 1500 } });
    expect(result(runReport, 'changed')).toMatchObject({ status: 'done', verified: { rows: 100 } });
    // The names were copied as names: the table `y` they mention is still there.
    expect((await sql(s.target1, `SELECT count(*)::int AS n FROM ${q}.y`)).rows).toEqual([
      { n: 0 },
    ]);
    const verify = await cli(['verify', '-c', work.file], {
      cwd: work.dir,
      env: { TZ: 'Asia/Tokyo' },
    });
    expect(verify.stdout).toContain(`✅ db_1.${HOSTILE}: 1500 rows match`);
    expect(verify.stdout).toContain('All 2 table(s) match.');
    expect(verify.code).toBe(0);
  });

  it('verify reports a missing row (which side has more) and a changed value, exit 1', async () => {
    await sql(
      s.target1,
      `DELETE FROM ${q}.${hostile} WHERE id = 7; UPDATE ${q}.changed SET v = 'other' WHERE id = 3`,
    );
    const { code, report } = await verifyJson();
    expect(code).toBe(1);
    expect(report.status).toBe('mismatch');
    const byTable = new Map(report.tables.map((t) => [t.table, t]));
    expect(byTable.get(HOSTILE)).toMatchObject({
      status: 'mismatch',
      sourceRows: 1500,
      targetRows: 1499,
      message: `db_1.${HOSTILE}: row counts differ (source 1500, target 1499; the source has 1 more)`,
    });
    expect(byTable.get('changed')).toMatchObject({
      status: 'mismatch',
      message: 'db_1.changed: same row count (100) but the checksums of the values differ',
    });
  });

  it('run --verify rolls back a table whose written rows differ from the source (a target trigger changed one)', async () => {
    await sql(
      s.target1,
      `TRUNCATE ${q}.changed; INSERT INTO ${q}.changed VALUES (-1, 'kept');
       CREATE TRIGGER shout BEFORE INSERT ON ${q}.changed FOR EACH ROW EXECUTE FUNCTION ${q}.shout();`,
    );
    try {
      const before = await tableDigest(s.target1, `SELECT * FROM ${q}.changed`);
      const config = testConfig(
        { server: s.source, schema },
        [{ name: 'db_1', server: s.target1, schema, tables: ['changed'] }],
        { mode: 'truncate' },
      );
      const { report } = await run(config, { verify: true });
      const changed = result(report, 'changed');
      expect(changed).toMatchObject({ status: 'error', rows: 0, attempts: 1 });
      expect(changed.error).toMatchObject({ code: 'VERIFY' });
      expect(changed.error?.message).toBe(
        'verification failed: db_1.changed: same row count (100) but the checksums of the values differ; rolled back',
      );
      expect(await tableDigest(s.target1, `SELECT * FROM ${q}.changed`)).toEqual(before);
    } finally {
      await sql(s.target1, `DROP TRIGGER shout ON ${q}.changed`);
    }
  });

  it('run --verify in append mode into a non-empty table verifies the rows this run added', async () => {
    await sql(
      s.target1,
      `TRUNCATE ${q}.changed; INSERT INTO ${q}.changed VALUES (-1, 'kept'), (-2, 'kept')`,
    );
    const config = testConfig(
      { server: s.source, schema },
      [{ name: 'db_1', server: s.target1, schema, tables: ['changed'] }],
      { mode: 'append' },
    );
    const { report } = await run(config, { verify: true });
    expect(result(report, 'changed')).toMatchObject({
      status: 'done',
      rows: 100,
      verified: { rows: 100 },
    });
    expect((await tableDigest(s.target1, `SELECT * FROM ${q}.changed`)).count).toBe(102);
  });
});
