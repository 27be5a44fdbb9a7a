import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Mode } from '../../src/config/types.js';
import { validateConfig } from '../../src/config/validate.js';
import { run } from '../../src/copy/run.js';
import { endpointOf } from '../support/config.js';
import { servers, sql, uniqueName } from '../support/db.js';
import { LatencyProxy } from '../support/latency-proxy.js';

const schema = uniqueName('FixedTrips');
const q = `"${schema}"`;
const s = servers();
const tables = ['a', 'b', 'c', 'd', 'e'];

beforeAll(async () => {
  const create = tables
    .map((t) => `CREATE TABLE ${q}.${t} (id int PRIMARY KEY, v text);`)
    .join(' ');
  await sql(
    s.source,
    `CREATE SCHEMA ${q}; ${create}
     ${tables.map((t) => `INSERT INTO ${q}.${t} SELECT g, md5(g::text) FROM generate_series(1, 20) g;`).join(' ')}`,
  );
  await sql(s.target1, `CREATE SCHEMA ${q}; ${create}`);
  // The target's ledger is created by the first run on it: not a cost of every run.
  await roundTrips(tables.slice(0, 1), 'truncate');
});

afterAll(async () => {
  await sql(s.source, `DROP SCHEMA ${q} CASCADE`);
  await sql(s.target1, `DROP SCHEMA ${q} CASCADE`);
});

/**
 * Round trips of a run at concurrency 1, ledger on, counted by a proxy in front of each server.
 * On a network each is a wait of the round-trip time: they are the fixed cost of a run and of a
 * table.
 */
async function roundTrips(names: readonly string[], mode: Mode): Promise<number> {
  const proxies = [await LatencyProxy.start(s.source), await LatencyProxy.start(s.target1)];
  try {
    const [source, target] = proxies as [LatencyProxy, LatencyProxy];
    const config = validateConfig({
      source: { ...endpointOf(s.source, schema), port: source.port },
      targets: [
        { name: 'db_1', ...endpointOf(s.target1, schema), port: target.port, tables: names },
      ],
      options: { mode },
    });
    const { report } = await run(config, { concurrency: 1 });
    expect(report?.status).toBe('done');
    return source.counts().roundTrips + target.counts().roundTrips;
  } finally {
    for (const proxy of proxies) await proxy.stop();
  }
}

describe("a run's fixed round trips (bug: a session sent its settings in a round trip of its own, the snapshot took three; the copy opened new connections where the plan's were idle; each side's transaction began in a round trip before its COPY)", () => {
  it.each([
    ['append', 51, 5],
    ['truncate', 51, 5],
    ['upsert', 53, 7],
  ] as const)(
    '%s: a one-table run takes at most %i, each more table %i',
    async (mode, oneTable, perTable) => {
      await sql(s.target1, `TRUNCATE ${tables.map((t) => `${q}.${t}`).join(', ')}`);
      const one = await roundTrips(tables.slice(0, 1), mode);
      await sql(s.target1, `TRUNCATE ${tables.map((t) => `${q}.${t}`).join(', ')}`);
      const all = await roundTrips(tables, mode);
      expect(one).toBeLessThanOrEqual(oneTable);
      expect((all - one) / (tables.length - 1)).toBeLessThanOrEqual(perTable);
    },
  );
});
