import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/validate.js';
import { run } from '../../src/copy/run.js';
import { endpointOf } from '../support/config.js';
import { servers, sql, tableDigest, uniqueName } from '../support/db.js';
import { leftoverSessions } from '../support/faults.js';
import { result } from '../support/report.js';
import type { RunEvent } from '../../src/report/events.js';
import { waitingLine } from '../../src/report/audit-lines.js';

const schema = uniqueName('Timeouts');
const q = `"${schema}"`;
const s = servers();
/** Tables whose load takes about 0.3 s each (1 ms a row on the target). */
const paced = ['paced_1', 'paced_2', 'paced_3', 'paced_4', 'paced_5', 'paced_6'];

beforeAll(async () => {
  await sql(
    s.source,
    `CREATE SCHEMA ${q};
     CREATE TABLE ${q}.locked (id int PRIMARY KEY, v text);
     INSERT INTO ${q}.locked SELECT g, 'v' || g FROM generate_series(1, 1000) g;
     CREATE TABLE ${q}.slow (id int PRIMARY KEY, v text);
     INSERT INTO ${q}.slow SELECT g, repeat('x', 100) FROM generate_series(1, 5000) g;`,
  );
  await sql(
    s.target1,
    `CREATE SCHEMA ${q};
     CREATE TABLE ${q}.locked (id int PRIMARY KEY, v text);
     INSERT INTO ${q}.locked VALUES (-1, 'kept');
     CREATE TABLE ${q}.slow (id int PRIMARY KEY, v text);
     -- 1 ms a row: the COPY takes about 5 s, far longer than the statement timeout below.
     CREATE FUNCTION ${q}.slowly() RETURNS trigger LANGUAGE plpgsql AS
       $$BEGIN PERFORM pg_sleep(0.001); RETURN NEW; END$$;
     CREATE TRIGGER slowly BEFORE INSERT ON ${q}.slow FOR EACH ROW EXECUTE FUNCTION ${q}.slowly();
     ${paced
       .map(
         (t) => `CREATE TABLE ${q}.${t} (id int PRIMARY KEY, v text);
       CREATE TRIGGER slowly BEFORE INSERT ON ${q}.${t} FOR EACH ROW EXECUTE FUNCTION ${q}.slowly();`,
       )
       .join('\n')}`,
  );
  await sql(
    s.source,
    paced
      .map(
        (t) => `CREATE TABLE ${q}.${t} (id int PRIMARY KEY, v text);
          INSERT INTO ${q}.${t} SELECT g, 'v' FROM generate_series(1, 300) g;`,
      )
      .join('\n'),
  );
});

afterAll(async () => {
  await sql(s.source, `DROP SCHEMA ${q} CASCADE`);
  await sql(s.target1, `DROP SCHEMA ${q} CASCADE`);
});

function config(tables: string[], options: Record<string, unknown>, target = {}) {
  return validateConfig({
    source: endpointOf(s.source, schema),
    targets: [{ name: 'db_1', ...endpointOf(s.target1, schema), tables, ...target }],
    options: { mode: 'truncate', ...options },
  });
}

describe('fault suite: lock and statement timeouts on the target sessions', () => {
  it('a target table locked by another session longer than lockTimeout fails naming the lock holder, untouched', async () => {
    const locker = await lockerClient();
    try {
      await locker.query(`BEGIN; LOCK TABLE ${q}.locked IN ACCESS EXCLUSIVE MODE`);
      const lockerPid = (await locker.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'))
        .rows[0]?.pid;
      const before = Date.now();
      // The target's own lockTimeout wins over the run's (which would wait a minute).
      const { report } = await run(
        config(['locked'], { lockTimeout: '1min' }, { lockTimeout: '300ms' }),
      );
      expect(Date.now() - before).toBeLessThan(20_000);
      const table = result(report, 'locked');
      expect(table).toMatchObject({ status: 'error', attempts: 1 });
      expect(table.error?.sqlstate).toBe('55P03');
      expect(table.error?.message).toBe(
        `lock timeout: db_1.locked could not be locked within lock_timeout 300 ms: held by pid ${lockerPid} (AccessExclusiveLock, user ${s.target1.user}, application "locker", idle in transaction)`,
      );
      await locker.query('ROLLBACK');
      expect(await tableDigest(s.target1, `SELECT * FROM ${q}.locked`)).toEqual({
        count: 1,
        md5: (await tableDigest(s.target1, `SELECT -1 AS id, 'kept'::text AS v`)).md5,
      });
      expect(await leftoverSessions(s.target1, schema)).toBe(0);
    } finally {
      await locker.end();
    }
  });

  it('statementTimeout applies to the target session: a COPY longer than it fails, not retried', async () => {
    const { report } = await run(config(['slow'], { statementTimeout: '1s' }));
    const table = result(report, 'slow');
    expect(table.error?.message).toMatch(/statement timeout/);
    expect(table).toMatchObject({ status: 'error', attempts: 1, rows: 0 });
    expect(table.error?.sqlstate).toBe('57014');
    expect(await tableDigest(s.target1, `SELECT * FROM ${q}.slow`)).toMatchObject({ count: 0 });
    expect(await leftoverSessions(s.target1, schema)).toBe(0);
  });

  it('a target table locked longer than a few seconds: progress names the holder while the run waits, then it completes', async () => {
    const locker = await lockerClient();
    try {
      await locker.query(`BEGIN; LOCK TABLE ${q}.locked IN ACCESS EXCLUSIVE MODE`);
      const lockerPid = (await locker.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'))
        .rows[0]?.pid;
      const waits: RunEvent[] = [];
      const outcome = run(config(['locked'], {}), {
        lockWaitTiming: { reportAfterMs: 300, pollMs: 100 },
        onEvent: (event) => {
          if (event.type === 'table-waiting') {
            waits.push(event);
            if (waits.length === 1) void locker.query('ROLLBACK');
          }
        },
      });
      const { report } = await outcome;
      expect(result(report, 'locked')).toMatchObject({ status: 'done', rows: 1000 });
      expect(waits[0]).toMatchObject({
        ref: { target: 'db_1', table: 'locked' },
        holders: [{ pid: lockerPid, application: 'locker', state: 'idle in transaction' }],
      });
      expect(waitingLine(waits[0] as Extract<RunEvent, { type: 'table-waiting' }>)).toMatch(
        /^Waiting \d+ s: db_1\.locked is waiting for a lock held by pid \d+ \(user \S+, application "locker", idle in transaction\)$/,
      );
      expect(await leftoverSessions(s.target1, schema)).toBe(0);
    } finally {
      await locker.end();
    }
  });

  it('bug: the lock-wait looks of many pairs queued on the one monitor connection (pg warns "already executing a query")', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error): number =>
      warnings.push(`${warning.name}: ${warning.message}`);
    process.on('warning', onWarning);
    try {
      // Six pairs at once, each looked at every 5 ms: their looks come due together.
      const { report } = await run(config(paced, { concurrency: 6 }), {
        lockWaitTiming: { reportAfterMs: 60_000, pollMs: 5 },
      });
      // (Status "warnings": the targets' row triggers are named in each table's warnings.)
      expect(report?.tables.map((t) => [t.error, t.rows])).toEqual(paced.map(() => [null, 300]));
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).toEqual([]);
  });
});

/** A session of the test's own, named so that the error and the progress can be checked. */
async function lockerClient(): Promise<pg.Client> {
  const locker = new pg.Client({
    host: s.target1.host,
    port: s.target1.port,
    user: s.target1.user,
    password: s.target1.password,
    database: 'postgres',
    application_name: 'locker',
  });
  await locker.connect();
  return locker;
}
