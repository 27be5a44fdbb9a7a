import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/validate.js';
import { run } from '../../src/copy/run.js';
import { verifyTables } from '../../src/verify/verify-tables.js';
import { SESSION_SETTINGS_SQL } from '../../src/copy/sql.js';
import type { ConnectionSpec } from '../../src/db/connection-spec.js';
import { Connector } from '../../src/db/connector.js';
import { endpointOf } from '../support/config.js';
import { servers, sql, tableDigest, uniqueName } from '../support/db.js';

const s = servers();

function spec(): ConnectionSpec {
  const { host, port, user, password } = s.target1;
  return { name: 'db_1', host, port, database: 'postgres', user, password, sslmode: 'disable' };
}

const pid = async (client: pg.Client): Promise<number> =>
  (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid ?? 0;

/** pg's Client, counting the clients made (each one connection: the connector connects each once). */
function countingClient(): {
  Client: typeof pg.Client;
  opened: () => number;
  stillOpen: () => number;
} {
  let opened = 0;
  let ended = 0;
  class CountingClient extends pg.Client {
    constructor(config?: string | pg.ClientConfig) {
      super(config);
      opened += 1;
      this.once('end', () => (ended += 1));
    }
  }
  return { Client: CountingClient, opened: () => opened, stillOpen: () => opened - ended };
}

describe('a connector keeps the clients handed back to it', () => {
  it('hands a released client to the next connect with the same settings, and only to it', async () => {
    const connector = new Connector(spec());
    try {
      const first = await connector.connect({ settings: SESSION_SETTINGS_SQL });
      const backend = await pid(first);
      await connector.release(first, SESSION_SETTINGS_SQL);
      // Other settings, or a replication connection: a connection of their own.
      const plain = await connector.connect();
      expect(plain).not.toBe(first);
      await plain.end();
      const replication = await connector.connect({
        settings: SESSION_SETTINGS_SQL,
        replication: true,
      });
      expect(replication).not.toBe(first);
      await replication.end();
      const again = await connector.connect({ settings: SESSION_SETTINGS_SQL });
      expect(again).toBe(first);
      expect(await pid(again)).toBe(backend);
      // Taken: the next connect opens a new one.
      const another = await connector.connect({ settings: SESSION_SETTINGS_SQL });
      expect(another).not.toBe(first);
      await Promise.all([again.end(), another.end()]);
    } finally {
      await connector.close();
    }
  });

  it('ends a client inside a transaction or an aborted one instead of keeping it', async () => {
    const connector = new Connector(spec());
    try {
      const open = await connector.connect();
      await open.query('BEGIN');
      let ended = false;
      open.once('end', () => (ended = true));
      await connector.release(open, undefined);
      expect(ended).toBe(true);
      const failed = await connector.connect();
      await failed.query('BEGIN');
      await failed.query('SELECT 1/0').catch(() => undefined);
      await connector.release(failed, undefined);
      const next = await connector.connect();
      expect(next).not.toBe(open);
      expect(next).not.toBe(failed);
      expect((await next.query('SELECT 1 AS one')).rows[0]).toEqual({ one: 1 });
      await next.end();
    } finally {
      await connector.close();
    }
  });

  it('never hands out a kept client whose backend was terminated; close ends the ones kept', async () => {
    const connector = new Connector(spec());
    const kept = await connector.connect();
    const killed = await connector.connect();
    const killedPid = await pid(killed);
    await connector.release(killed, undefined);
    const gone = new Promise((resolve) => killed.once('end', resolve));
    await sql(s.target1, `SELECT pg_terminate_backend(${killedPid})`);
    await gone;
    const fresh = await connector.connect();
    expect(fresh).not.toBe(killed);
    expect(await pid(fresh)).not.toBe(killedPid);
    await fresh.end();
    let keptEnded = false;
    kept.once('end', () => (keptEnded = true));
    await connector.release(kept, 'SET work_mem = 1');
    await connector.close();
    expect(keptEnded).toBe(true);
  });

  it('endIdle ends what is kept: a sync or a verify holds no idle plan connection', async () => {
    const connector = new Connector(spec());
    try {
      const kept = await connector.connect({ settings: SESSION_SETTINGS_SQL });
      const ended = new Promise((resolve) => kept.once('end', resolve));
      await connector.release(kept, SESSION_SETTINGS_SQL);
      await connector.endIdle();
      await ended;
      const next = await connector.connect({ settings: SESSION_SETTINGS_SQL });
      expect(next).not.toBe(kept);
      await next.end();
    } finally {
      await connector.close();
    }
  });

  it("a run's first worker copies on the plan's connections (two fewer); a verify ends them", async () => {
    const schema = uniqueName('Handed');
    const q = `"${schema}"`;
    await sql(
      s.source,
      `CREATE SCHEMA ${q}; CREATE TABLE ${q}.t (id int PRIMARY KEY, v text);
       INSERT INTO ${q}.t SELECT g, md5(g::text) FROM generate_series(1, 500) g;`,
    );
    await sql(s.target1, `CREATE SCHEMA ${q}; CREATE TABLE ${q}.t (id int PRIMARY KEY, v text);`);
    try {
      const counting = countingClient();
      const config = validateConfig({
        source: endpointOf(s.source, schema),
        targets: [{ name: 'db_1', ...endpointOf(s.target1, schema), tables: ['t'] }],
        options: { mode: 'truncate' },
      });
      const { report } = await run(config, {
        concurrency: 1,
        deps: { Client: counting.Client },
      });
      expect(report?.status).toBe('done');
      // The plan's source and target connections, the snapshot's: nothing else.
      expect(counting.opened()).toBe(3);
      // verify opens readers of its own: the plan's are ended first, one reader per server open.
      const verifying = countingClient();
      const open: number[] = [];
      const verified = await verifyTables(config, {
        deps: {
          Client: verifying.Client,
          trace: {
            step: (message) => message.includes('comparing') && open.push(verifying.stillOpen()),
          },
        },
      });
      expect(verified.tables.map((t) => t.status)).toEqual(['match']);
      expect(open).toEqual([2]);
      const rows = `SELECT * FROM ${q}.t`;
      expect(await tableDigest(s.target1, rows)).toEqual(await tableDigest(s.source, rows));
    } finally {
      await sql(s.source, `DROP SCHEMA ${q} CASCADE`);
      await sql(s.target1, `DROP SCHEMA ${q} CASCADE`);
    }
  });
});
