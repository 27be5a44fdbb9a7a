import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/validate.js';
import { run } from '../../src/copy/run.js';
import { endpointOf } from '../support/config.js';
import { servers, sql, tableDigest, uniqueName } from '../support/db.js';
import { LatencyProxy } from '../support/latency-proxy.js';

const schema = uniqueName('RoundTrips');
const q = `"${schema}"`;
const s = servers();
const tables = Array.from({ length: 8 }, (_, i) => `t${i}`);
let proxies: { source: LatencyProxy; target: LatencyProxy };

beforeAll(async () => {
  const create = tables.map((t) => `CREATE TABLE ${q}.${t} (id serial, note text);`).join('\n');
  await sql(
    s.source,
    `CREATE SCHEMA ${q}; ${create}
     ${tables.map((t) => `INSERT INTO ${q}.${t} (note) SELECT 'row ' || g FROM generate_series(1, 500) g;`).join('\n')}`,
  );
  await sql(s.target1, `CREATE SCHEMA ${q}; ${create}`);
  proxies = {
    source: await LatencyProxy.start(s.source),
    target: await LatencyProxy.start(s.target1),
  };
  // The first run on a target creates its ledger: a cost of that run only, not of its tables.
  await roundTrips(tables.slice(0, 1), false);
});

afterAll(async () => {
  await proxies.source.stop();
  await proxies.target.stop();
  await sql(s.source, `DROP SCHEMA ${q} CASCADE`);
  await sql(s.target1, `DROP SCHEMA ${q} CASCADE`);
});

/** Round trips on both servers for a run over `names` (a dry run: the plan alone). */
async function roundTrips(names: readonly string[], dryRun: boolean): Promise<number> {
  const config = validateConfig({
    source: { ...endpointOf(s.source, schema), port: proxies.source.port },
    targets: [
      {
        name: 'db_1',
        ...endpointOf(s.target1, schema),
        port: proxies.target.port,
        tables: names,
      },
    ],
    options: { mode: 'truncate' },
  });
  proxies.source.reset();
  proxies.target.reset();
  const { report } = await run(config, { concurrency: 1, dryRun });
  if (!dryRun) expect(report?.status).toBe('done');
  return proxies.source.counts().roundTrips + proxies.target.counts().roundTrips;
}

describe('round trips per table', () => {
  it('a new connection pair and a round trip per statement for each table: one more table with a sequence costs at most 8 round trips', async () => {
    const half = tables.slice(0, tables.length / 2);
    const copy = async (names: readonly string[]): Promise<number> =>
      (await roundTrips(names, false)) - (await roundTrips(names, true));
    const perTable = ((await copy(tables)) - (await copy(half))) / (tables.length - half.length);
    // Source: join, COPY TO, end. Target: BEGIN with TRUNCATE, COPY FROM (query, then data),
    // the sequence, COMMIT.
    expect(perTable).toBeLessThanOrEqual(8);
    for (const t of tables) {
      const rows = `SELECT * FROM ${q}.${t}`;
      expect(await tableDigest(s.target1, rows)).toEqual(await tableDigest(s.source, rows));
      const next = await sql(s.target1, `SELECT nextval('${q}.${t}_id_seq') AS v`);
      expect(next.rows[0]).toEqual({ v: '501' });
    }
  });
});
