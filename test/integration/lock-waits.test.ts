import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/copy/run.js';
import type { RunEvent } from '../../src/report/events.js';
import { testConfig } from '../support/config.js';
import { servers, sql, uniqueName } from '../support/db.js';
import { result } from '../support/report.js';
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
});

afterAll(async () => {
  await sql(s.source, `DROP SCHEMA ${q} CASCADE`);
  await sql(s.target1, `DROP SCHEMA ${q} CASCADE`);
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
  it('bug: the lock-wait monitor never stops watching finished tables (a worker of 30 tables, then one waits)', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error): number =>
      warnings.push(`${warning.name}: ${warning.message}`);
    process.on('warning', onWarning);
    const locker = await lockerOn(s.target1);
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
          [{ name: 'db_1', server: s.target1, schema, tables: [...TABLES, LOCKED] }],
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
      expect(report?.tables.map((t) => t.error)).toEqual([...TABLES, LOCKED].map(() => null));
      expect(result(report, LOCKED).rows).toBe(0);
      expect(waits.length).toBeGreaterThanOrEqual(3);
      expect(new Set(waits.map((w) => w.ref.table))).toEqual(new Set([LOCKED]));
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
      await locker.end();
    }
    expect(warnings.filter((w) => w.startsWith('MaxListenersExceededWarning'))).toEqual([]);
    // One pair runs at a time: one look per pollMs at most, and one more per table for the last
    // look of its watch. Watches left running would make that about 31 looks per pollMs.
    expect(looks()).toBeLessThanOrEqual(Math.ceil(elapsed / pollMs) + TABLES.length + 1);
  });
});
