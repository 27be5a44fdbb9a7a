import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Mode } from '../../src/config/types.js';
import { validateConfig } from '../../src/config/validate.js';
import { run } from '../../src/copy/run.js';
import { endpointOf } from '../support/config.js';
import { servers, sql, uniqueName } from '../support/db.js';
import { LatencyProxy } from '../support/latency-proxy.js';
import type { ServerInfo } from '../support/server-info.js';

const schema = uniqueName('FixedTrips');
const q = `"${schema}"`;
const s = servers();
const tables = ['a', 'b', 'c', 'd', 'e'];
/** Tables whose foreign keys tie them together: in truncate mode each chain is one truncate group. */
const linked = ['g1', 'g2', 'g3', 'g4', 'g5'];
const pair = ['h1', 'h2'];

/** A chain of tables, each referencing the one before, with 20 rows each. */
const chain = (names: readonly string[]): { create: string; insert: string } => ({
  create: names
    .map((t, i) =>
      i === 0
        ? `CREATE TABLE ${q}.${t} (id int PRIMARY KEY, v text);`
        : `CREATE TABLE ${q}.${t} (id int PRIMARY KEY, v text, up int REFERENCES ${q}.${names[i - 1]});`,
    )
    .join(' '),
  insert: names
    .map(
      (t, i) =>
        `INSERT INTO ${q}.${t} SELECT g, md5(g::text)${i === 0 ? '' : ', g'} FROM generate_series(1, 20) g;`,
    )
    .join(' '),
});

const create = [
  ...tables.map((t) => `CREATE TABLE ${q}.${t} (id int PRIMARY KEY, v text);`),
  chain(linked).create,
  chain(pair).create,
].join(' ');

beforeAll(async () => {
  await sql(
    s.source,
    `CREATE SCHEMA ${q}; ${create}
     ${tables.map((t) => `INSERT INTO ${q}.${t} SELECT g, md5(g::text) FROM generate_series(1, 20) g;`).join(' ')}
     ${chain(linked).insert} ${chain(pair).insert}`,
  );
  for (const target of [s.target1, s.target2]) await sql(target, `CREATE SCHEMA ${q}; ${create}`);
  // Each target's ledger is created by the first run on it: not a cost of every run.
  await roundTrips(tables.slice(0, 1), 'truncate', [s.target1, s.target2]);
});

afterAll(async () => {
  await sql(s.source, `DROP SCHEMA ${q} CASCADE`);
  for (const target of [s.target1, s.target2]) await sql(target, `DROP SCHEMA ${q} CASCADE`);
});

async function emptyTargets(): Promise<void> {
  const all = [...tables, ...linked, ...pair].map((t) => `${q}.${t}`).join(', ');
  for (const target of [s.target1, s.target2]) await sql(target, `TRUNCATE ${all}`);
}

/**
 * Round trips of a run at concurrency 1, ledger on, counted by a proxy in front of each server:
 * `names` copied into each of `targets` (two targets read each table once, shared). On a network
 * each is a wait of the round-trip time: they are the fixed cost of a run and of a table.
 */
async function roundTrips(
  names: readonly string[],
  mode: Mode,
  targets: readonly ServerInfo[] = [s.target1],
): Promise<number> {
  const proxies = await Promise.all([s.source, ...targets].map((at) => LatencyProxy.start(at)));
  try {
    const [source, ...targetProxies] = proxies as [LatencyProxy, ...LatencyProxy[]];
    const config = validateConfig({
      source: { ...endpointOf(s.source, schema), port: source.port },
      targets: targets.map((target, i) => ({
        name: `db_${i + 1}`,
        ...endpointOf(target, schema),
        port: targetProxies[i]?.port,
        tables: names,
      })),
      options: { mode },
    });
    const { report } = await run(config, { concurrency: 1 });
    expect(report?.status).toBe('done');
    return proxies.reduce((sum, proxy) => sum + proxy.counts().roundTrips, 0);
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
      await emptyTargets();
      const one = await roundTrips(tables.slice(0, 1), mode);
      await emptyTargets();
      const all = await roundTrips(tables, mode);
      expect(one).toBeLessThanOrEqual(oneTable);
      expect((all - one) / (tables.length - 1)).toBeLessThanOrEqual(perTable);
    },
  );

  it('a table read once for two targets: 8 round trips more per table (the read joins the snapshot in its COPY; each target 3)', async () => {
    const targets = [s.target1, s.target2];
    await emptyTargets();
    const one = await roundTrips(tables.slice(0, 1), 'truncate', targets);
    await emptyTargets();
    const all = await roundTrips(tables, 'truncate', targets);
    expect((all - one) / (tables.length - 1)).toBeLessThanOrEqual(8);
  });

  it("a truncate group's member: 5 round trips more per table (its read joins the snapshot in its COPY; its COPY into the group's transaction; its ledger row there; the group has one BEGIN and TRUNCATE, and one COMMIT)", async () => {
    await emptyTargets();
    const two = await roundTrips(pair, 'truncate');
    await emptyTargets();
    const five = await roundTrips(linked, 'truncate');
    expect((five - two) / (linked.length - pair.length)).toBeLessThanOrEqual(5);
  });
});
