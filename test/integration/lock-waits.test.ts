import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/copy/run.js';
import { lockWait } from '../../src/db/lock-holders.js';
import { readConflictIndexes } from '../../src/plan/split-conflicts.js';
import type { LocalPostgres } from '../../src/demo/local-postgres.js';
import { PassThrough } from 'node:stream';
import { ProgressRenderer } from '../../src/cli/progress.js';
import { auditLine, waitingLine } from '../../src/report/audit-lines.js';
import type { RunEvent, RunReport } from '../../src/report/events.js';
import type { TablePlan } from '../../src/plan/types.js';
import { testConfig } from '../support/config.js';
import { servers, sql, uniqueName } from '../support/db.js';
import { result } from '../support/report.js';
import { startPreparingTarget } from '../support/prepared-target.js';
import type { ServerInfo } from '../support/server-info.js';

const schema = uniqueName('LockWaits');
const q = `"${schema}"`;
const s = servers();
/** A worker's tables, copied one after the other on the worker's one target connection. */
const TABLES = Array.from({ length: 30 }, (_, i) => `t_${String(i + 1).padStart(2, '0')}`);
/** The one table a session of the test's own holds locked; empty, so it is copied last. */
const LOCKED = 'z_locked';

beforeAll(async () => {
  const tables = (withRows: boolean): string =>
    [...TABLES, LOCKED]
      .map(
        (t) => `CREATE TABLE ${q}.${t} (id int PRIMARY KEY, v text);
          ${withRows && t !== LOCKED ? `INSERT INTO ${q}.${t} SELECT g, 'v' FROM generate_series(1, 200) g;` : ''}`,
      )
      .join('\n');
  await sql(s.source, `CREATE SCHEMA ${q}; ${tables(true)}`);
  await sql(s.target1, `CREATE SCHEMA ${q}; ${tables(false)}`);
  await sql(s.target2, `CREATE SCHEMA ${q}; ${tables(false)}`);
});

afterAll(async () => {
  await sql(s.source, `DROP SCHEMA ${q} CASCADE`);
  await sql(s.target1, `DROP SCHEMA ${q} CASCADE`);
  await sql(s.target2, `DROP SCHEMA ${q} CASCADE`);
});

/** pg's Client, counting the lock-wait monitor's looks (pg_blocking_pids) on every connection. */
function countingClient(): { Client: typeof pg.Client; looks: () => number } {
  let looks = 0;
  class Counting extends pg.Client {
    override query(...args: unknown[]): never {
      const [text] = args;
      const sqlText = typeof text === 'string' ? text : (text as { text?: string }).text;
      if (sqlText?.includes('pg_blocking_pids')) looks += 1;
      // Passes every overload through unchanged.
      return (super.query as (...a: unknown[]) => never)(...args);
    }
  }
  return { Client: Counting, looks: () => looks };
}

async function lockerOn(server: ServerInfo): Promise<pg.Client> {
  const locker = new pg.Client({ ...server, database: 'postgres', application_name: 'locker' });
  await locker.connect();
  return locker;
}

describe('lock-wait monitor: one watch per running pair', () => {
  // One target, and two read once (a shared read: a worker runs one pair per target at once).
  for (const targets of [1, 2]) {
    it(`bug: the lock-wait monitor never stops watching finished tables (a worker of 30 tables, then one waits; ${targets} target(s))`, async () => {
      const all = [...TABLES, LOCKED];
      for (const server of [s.target1, s.target2]) {
        await sql(server, `TRUNCATE ${all.map((t) => `${q}.${t}`).join(', ')}`);
      }
      const warnings: string[] = [];
      const onWarning = (warning: Error): number =>
        warnings.push(`${warning.name}: ${warning.message}`);
      process.on('warning', onWarning);
      // The last target's copy of the last table is locked.
      const lockedOn = targets === 1 ? s.target1 : s.target2;
      const locker = await lockerOn(lockedOn);
      const { Client, looks } = countingClient();
      const pollMs = 20;
      const started = performance.now();
      let elapsed = 0;
      try {
        await locker.query(`BEGIN; LOCK TABLE ${q}.${LOCKED} IN ACCESS EXCLUSIVE MODE`);
        const waits: Extract<RunEvent, { type: 'table-waiting' }>[] = [];
        const { report } = await run(
          testConfig(
            { server: s.source, schema },
            [s.target1, s.target2]
              .slice(0, targets)
              .map((server, i) => ({ name: `db_${i + 1}`, server, schema, tables: all })),
            { concurrency: 1, retries: 0 },
          ),
          {
            deps: { Client },
            lockWaitTiming: { reportAfterMs: 200, pollMs },
            onEvent: (event) => {
              if (event.type !== 'table-waiting') return;
              waits.push(event);
              // Held a little longer, so that a watch of an earlier table would have said so too.
              if (waits.length === 3) void locker.query('ROLLBACK');
            },
          },
        );
        elapsed = performance.now() - started;
        expect(report?.tables.map((t) => t.error)).toEqual(
          Array.from({ length: all.length * targets }, () => null),
        );
        expect(result(report, LOCKED).rows).toBe(0);
        expect(waits.length).toBeGreaterThanOrEqual(3);
        expect(new Set(waits.map((w) => `${w.ref.target}.${w.ref.table}`))).toEqual(
          new Set([`db_${targets}.${LOCKED}`]),
        );
        await new Promise((resolve) => setImmediate(resolve));
      } finally {
        process.off('warning', onWarning);
        await locker.end();
      }
      expect(warnings.filter((w) => w.startsWith('MaxListenersExceededWarning'))).toEqual([]);
      // At most one pair per target at a time: one look each per pollMs, and one more per pair
      // for the last look of its watch. Watches left running would make that 31 per pollMs.
      expect(looks()).toBeLessThanOrEqual(
        targets * Math.ceil(elapsed / pollMs) + all.length * targets,
      );
    });
  }
});

describe('lock-wait monitor: prepared transactions holding a lock', () => {
  // Prepared transactions need max_prepared_transactions > 0: the suite's targets have none.
  let own: LocalPostgres;
  let target: ServerInfo;
  const gid = `other_app_${schema}`;

  beforeAll(async () => {
    ({ server: own, info: target } = await startPreparingTarget('lock-waits-target'));
    await sql(
      target,
      `CREATE SCHEMA ${q}; CREATE TABLE ${q}.${TABLES[0]} (id int PRIMARY KEY, v text); ${GROUP_SQL}`,
    );
    await sql(
      s.source,
      `${GROUP_SQL} INSERT INTO ${q}.grp_parent VALUES (1); INSERT INTO ${q}.grp_child VALUES (1, 1);`,
    );
  }, 60_000);

  afterAll(async () => {
    await own.stop();
  });

  /** Two tables truncated together in one statement (a truncate group: a foreign key between). */
  const GROUP_SQL = `CREATE TABLE ${q}.grp_parent (id int PRIMARY KEY);
    CREATE TABLE ${q}.grp_child (id int PRIMARY KEY, parent int REFERENCES ${q}.grp_parent);`;

  /** Ends the test's prepared transaction if it is still there (a test that failed half way). */
  async function rollbackPrepared(): Promise<void> {
    await sql(target, `SELECT FROM pg_prepared_xacts WHERE gid = $1`, [gid]).then(async (r) => {
      if (r.rowCount) await sql(target, `ROLLBACK PREPARED '${gid}'`);
    });
  }

  /** Someone else's transaction, prepared and left, holding what `statement` took. */
  async function preparedHolding(statement: string): Promise<void> {
    const other = await lockerOn(target);
    try {
      await other.query(`BEGIN; ${statement}; PREPARE TRANSACTION '${gid}'`);
    } finally {
      await other.end();
    }
  }

  /** The table into the preparing target (db_1), and with `alsoDb2` into target2 too (db_2). */
  function copyInto(
    options: Record<string, unknown>,
    onEvent: (event: RunEvent) => void = () => undefined,
    alsoDb2 = false,
  ) {
    const db2 = { name: 'db_2', server: s.target2, schema, tables: [TABLES[0]] };
    return run(
      testConfig(
        { server: s.source, schema },
        [{ name: 'db_1', server: target, schema, tables: [TABLES[0]] }, ...(alsoDb2 ? [db2] : [])],
        { concurrency: 1, retries: 0, ...options },
      ),
      {
        lockWaitTiming: { reportAfterMs: 200, pollMs: 50 },
        onEvent,
        // A deadline: a wait nobody ends fails the test (ABORTED) instead of hanging the suite.
        signal: AbortSignal.timeout(15_000),
      },
    );
  }

  /**
   * Every mode takes the table's lock (TRUNCATE its ACCESS EXCLUSIVE one) and writes its rows; the
   * server-side strategies write them with INSERT ... SELECT on the target (fdw-push: from the
   * source, through postgres_fdw's own session to the target).
   */
  const CASES: {
    mode: string;
    strategy: string;
    split?: { minBytes: number; parts: number };
    concurrency?: number;
    db2?: boolean;
  }[] = [
    ...(['append', 'truncate', 'upsert', 'insert-new'] as const).map((mode) => ({
      mode,
      strategy: 'stream',
    })),
    ...(['dblink', 'fdw', 'fdw-push'] as const).flatMap((strategy) =>
      (['append', 'truncate'] as const).map((mode) => ({ mode, strategy })),
    ),
    // A split table's parts each take the table's lock in a session of their own (only append
    // splits: truncate's lock and keyed modes' staging tables keep the table one stream).
    { mode: 'append', strategy: 'stream', split: { minBytes: 0, parts: 2 }, concurrency: 2 },
    // Read once for two targets (options.readOnce): the other target's copy goes on.
    ...(['append', 'truncate'] as const).map((mode) => ({ mode, strategy: 'stream', db2: true })),
  ];

  for (const { mode, strategy, db2 = false, ...more } of CASES) {
    const options = { mode, strategy, createExtensions: true, ...more };
    const label = `${mode}, ${strategy}${'split' in more ? ', split in 2 parts' : ''}${db2 ? ', read once for two targets' : ''}`;
    /** Both targets' tables empty (the first describe leaves rows in target2's). */
    const fresh = async (): Promise<void> => {
      await sql(target, `TRUNCATE ${q}.${TABLES[0]}`);
      if (db2) await sql(s.target2, `TRUNCATE ${q}.${TABLES[0]}`);
    };
    /** db_2's copy, read with db_1's, is not held back by db_1's wait (nor its failure). */
    const expectDb2 = (
      report: RunReport | undefined,
      plan: { readOnce?: { shared: readonly unknown[] } | undefined },
    ): void => {
      if (!db2) return;
      expect(plan.readOnce?.shared).toHaveLength(1);
      expect(report?.tables.find((t) => t.target === 'db_2')).toMatchObject({
        error: null,
        rows: 200,
      });
    };
    /** The plan split the table where the case asks for it. */
    const expectParts = (
      plan: { targets: readonly { tables: readonly TablePlan[] }[] } | undefined,
    ): void => {
      expect(plan?.targets[0]?.tables[0]?.split?.parts ?? 1).toBe('split' in more ? 2 : 1);
    };
    for (const [kind, statement] of [
      ['a lock on the table', `LOCK TABLE ${q}.${TABLES[0]} IN SHARE MODE`],
      ['a row with a key the copy writes', `INSERT INTO ${q}.${TABLES[0]} VALUES (7, 'other')`],
    ] as const) {
      it(`bug: prepared leftovers block silently: the waiting event names a prepared transaction holding ${kind} (${label})`, async () => {
        await fresh();
        await preparedHolding(statement);
        const waits: Extract<RunEvent, { type: 'table-waiting' }>[] = [];
        const { report, plan } = await copyInto(
          options,
          (event) => {
            if (event.type !== 'table-waiting') return;
            waits.push(event);
            if (waits.length === 1) void rollbackPrepared();
          },
          db2,
        ).finally(rollbackPrepared);
        expectParts(plan);
        expect(report?.tables.find((t) => t.target === 'db_1')).toMatchObject({
          error: null,
          rows: 200,
        });
        expectDb2(report, plan);
        expect(waits[0]?.holders).toEqual([
          {
            pid: 0,
            user: target.user,
            application: '',
            state: 'prepared',
            prepared: {
              gid,
              database: 'postgres',
              preparedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) as unknown,
              seconds: expect.any(Number) as unknown,
            },
          },
        ]);
        // The CLI's progress and the audit log say the same.
        const progress = new PassThrough();
        let printed = '';
        progress.on('data', (chunk: Buffer) => (printed += chunk.toString()));
        new ProgressRenderer(progress, false).onEvent(waits[0] as RunEvent);
        expect(printed.trim()).toBe(waitingLine(waits[0] as (typeof waits)[number]));
        expect(auditLine(waits[0] as RunEvent)).toContain(`prepared transaction "${gid}"`);
        expect(waitingLine(waits[0] as (typeof waits)[number])).toMatch(
          new RegExp(
            `^Waiting \\d+ s: db_1\\.${TABLES[0]} is waiting for a lock held by prepared transaction "${gid}" \\(owner ${target.user}, database postgres, prepared \\d+ s ago\\)$`,
          ),
        );
      });
    }

    for (const [kind, statement, held] of [
      ['the table', `LOCK TABLE ${q}.${TABLES[0]} IN SHARE MODE`, 'ShareLock'],
      [
        'a row the copy writes',
        `INSERT INTO ${q}.${TABLES[0]} VALUES (7, 'other')`,
        'RowExclusiveLock',
      ],
    ] as const) {
      it(`bug: a prepared transaction holding ${kind} past lockTimeout fails the table, naming it (${label})`, async () => {
        await fresh();
        await preparedHolding(statement);
        try {
          const started = performance.now();
          const { report, plan } = await copyInto(
            { ...options, lockTimeout: '300ms' },
            undefined,
            db2,
          );
          expectParts(plan);
          expectDb2(report, plan);
          // The lock timeout, not the test's 15 s deadline, ended the wait.
          expect(performance.now() - started).toBeLessThan(10_000);
          const table = report?.tables.find((t) => t.target === 'db_1');
          expect(table?.error?.sqlstate).toBe('55P03');
          expect(table?.error?.message).toMatch(
            new RegExp(
              `^lock timeout: db_1\\.${TABLES[0]} could not be locked within lock_timeout 300 ms: held by prepared transaction "${gid}" \\(${held}, owner ${target.user}, database postgres, prepared \\d+ s ago\\)$`,
            ),
          );
        } finally {
          await rollbackPrepared();
        }
      });
    }
  }
  /** The truncate group of grp_parent and grp_child, one TRUNCATE for both, into the target. */
  function truncateGroup(
    options: Record<string, unknown>,
    onEvent: (event: RunEvent) => void = () => undefined,
  ) {
    return run(
      testConfig(
        { server: s.source, schema },
        [{ name: 'db_1', server: target, schema, tables: ['grp_parent', 'grp_child'] }],
        { concurrency: 1, retries: 0, mode: 'truncate', ...options },
      ),
      {
        lockWaitTiming: { reportAfterMs: 200, pollMs: 50 },
        onEvent,
        signal: AbortSignal.timeout(15_000),
      },
    );
  }

  for (const locked of ['grp_parent', 'grp_child']) {
    it(`bug: a truncate group's TRUNCATE waited silently on a prepared transaction holding ${locked}: the waiting event names it`, async () => {
      await preparedHolding(`LOCK TABLE ${q}.${locked} IN SHARE MODE`);
      const waits: Extract<RunEvent, { type: 'table-waiting' }>[] = [];
      const { report, plan } = await truncateGroup({}, (event) => {
        if (event.type !== 'table-waiting') return;
        waits.push(event);
        if (waits.length === 1) void rollbackPrepared();
      }).finally(rollbackPrepared);
      expect(plan.targets[0]?.truncateGroups).toEqual([{ tables: ['grp_parent', 'grp_child'] }]);
      expect(report?.tables.map((t) => [t.table, t.error, t.rows])).toEqual([
        ['grp_parent', null, 1],
        ['grp_child', null, 1],
      ]);
      expect(waits[0]?.holders.map((h) => h.prepared?.gid)).toEqual([gid]);
      // The group's own statements are watched under its first member, whichever table waits.
      expect(waitingLine(waits[0] as (typeof waits)[number])).toMatch(
        new RegExp(
          `^Waiting \\d+ s: db_1\\.grp_parent is waiting for a lock held by prepared transaction "${gid}" \\(owner ${target.user}, database postgres, prepared \\d+ s ago\\)$`,
        ),
      );
    });

    it(`bug: a truncate group's lock timeout on ${locked}, held by a prepared transaction, names it`, async () => {
      await preparedHolding(`LOCK TABLE ${q}.${locked} IN SHARE MODE`);
      try {
        const started = performance.now();
        const { report } = await truncateGroup({ lockTimeout: '300ms' });
        expect(performance.now() - started).toBeLessThan(10_000);
        for (const table of ['grp_parent', 'grp_child']) {
          const failed = result(report, table);
          // Both rolled back with the group, for its TRUNCATE's lock timeout.
          expect(failed.error?.code, table).toBe('GROUP_ROLLED_BACK');
          expect(failed.error?.message, table).toContain(
            `the group's own statements (BEGIN, TRUNCATE, COMMIT) failed: lock timeout: db_1.${locked} could not be locked within lock_timeout 300 ms: held by prepared transaction "${gid}" (ShareLock, owner ${target.user}, database postgres, prepared `,
          );
        }
      } finally {
        await rollbackPrepared();
      }
    });
  }
});

describe('lock-wait monitor and split conflict catalog queries on every server version', () => {
  const versions = (): ServerInfo[] =>
    [s.pg13, s.pg15, s.target1].filter((v): v is ServerInfo => v !== undefined);

  it('names the session a waiting one waits for, and reads the conflict indexes, on PostgreSQL 13, 15 and 17', async () => {
    for (const server of versions()) {
      const table = `${q}.versioned`;
      await sql(
        server,
        `CREATE SCHEMA IF NOT EXISTS ${q};
         CREATE TABLE ${table} (id int PRIMARY KEY, v text COLLATE "C", w int, UNIQUE (v) INCLUDE (w))`,
      );
      const holder = await lockerOn(server);
      const waiter = await lockerOn(server);
      try {
        await holder.query(`BEGIN; INSERT INTO ${table} VALUES (1, 'a', 1)`);
        const waiterPid = (await waiter.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'))
          .rows[0]?.pid as number;
        const waiting = waiter.query(`INSERT INTO ${table} VALUES (1, 'b', 2)`).catch(() => 0);
        const monitor = await lockerOn(server);
        try {
          let wait = await lockWait(monitor, waiterPid);
          for (let i = 0; i < 100 && wait.holders.length === 0; i++) {
            await new Promise((r) => setTimeout(r, 20));
            wait = await lockWait(monitor, waiterPid);
          }
          expect(wait).toMatchObject({
            awaited: 'transactionid',
            holders: [{ application: 'locker', state: 'idle in transaction' }],
          });
          const indexes = await readConflictIndexes(
            monitor,
            schema,
            ['versioned'],
            server.majorVersion * 10000,
          );
          expect(indexes.get('versioned')).toEqual([
            {
              kind: 'unique',
              name: 'versioned_pkey',
              nullsNotDistinct: false,
              keyColumns: [{ column: 'id', deterministic: true, equality: 'integer' }],
            },
            {
              kind: 'unique',
              name: 'versioned_v_w_key',
              nullsNotDistinct: false,
              // The INCLUDE column takes no part in uniqueness.
              keyColumns: [{ column: 'v', deterministic: true, equality: 'text' }],
            },
          ]);
        } finally {
          await monitor.end();
        }
        await holder.query('ROLLBACK');
        await waiting;
      } finally {
        await holder.end();
        await waiter.end();
        await sql(server, `DROP TABLE ${table}`);
      }
    }
  });
});
