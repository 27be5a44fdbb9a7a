import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/validate.js';
import { PgcopyFunction, type ItemsResult } from '../../src/lambda/handler.js';
import { selectTables } from '../../src/plan/select-tables.js';
import { cli } from '../support/cli.js';
import { endpointOf } from '../support/config.js';
import { servers, sql, uniqueName } from '../support/db.js';
import { fakeContext, recordingLog } from '../support/lambda.js';

const s = servers();
const schema = uniqueName('Plan_Items');
const other = `${schema}_3`;
const TABLES = 300;
const names = Array.from({ length: TABLES }, (_, i) => `t${String(i).padStart(3, '0')}`);
// Rows per table: 0 to 3,200 in steps, and two tables far larger than the rest.
const rowsOf = (i: number): number => (i === 7 || i === 150 ? 60_000 : (i % 17) * 200);
const create = (q: string) => `
  CREATE SCHEMA ${q};
  DO $$ BEGIN FOR i IN 0..${TABLES - 1} LOOP
    EXECUTE format('CREATE TABLE ${q}.%I (id int PRIMARY KEY, payload text)', 't' || lpad(i::text, 3, '0'));
  END LOOP; END $$;`;

const config = {
  source: endpointOf(s.source, schema),
  targets: [
    { name: 'one', ...endpointOf(s.target1, schema), tables: names },
    { name: 'two', ...endpointOf(s.target2, schema), tables: names },
    { name: 'three', ...endpointOf(s.target1, other), tables: names },
  ],
  options: { mode: 'append' },
};
let dir: string;

beforeAll(async () => {
  const q = `"${schema}"`;
  const fill = names
    .map(
      (n, i) =>
        `INSERT INTO ${q}.${n} SELECT g, repeat('x', 40) FROM generate_series(1, ${rowsOf(i)}) g;`,
    )
    .join('\n');
  await sql(s.source, `${create(q)} ${fill} ANALYZE;`);
  await sql(s.target1, `${create(q)} ${create(`"${other}"`)}`);
  await sql(s.target2, create(q));
  dir = await mkdtemp(join(tmpdir(), 'plan-items-'));
  await writeFile(join(dir, 'pgcopy.json'), JSON.stringify(config));
}, 120_000);

afterAll(async () => {
  await sql(s.source, `DROP SCHEMA "${schema}" CASCADE`);
  await sql(s.target1, `DROP SCHEMA "${schema}" CASCADE; DROP SCHEMA "${other}" CASCADE`);
  await sql(s.target2, `DROP SCHEMA "${schema}" CASCADE`);
  await rm(dir, { recursive: true, force: true });
});

const pairKey = (target: string, table: string) => `${target}.${table}`;

describe('items: the plan as balanced items for a fan-out (300 tables, 3 targets)', () => {
  const fn = new PgcopyFunction({
    env: { PGCOPY_CONFIG: JSON.stringify(config) },
    logger: recordingLog(),
  });
  let result: ItemsResult;
  let budget: number;

  beforeAll(async () => {
    // A budget of a sixteenth of the run: about fifteen items, and the two large tables over it.
    const probe = (await fn.invoke({ action: 'items' }, fakeContext())) as ItemsResult;
    budget = Math.round(probe.estimatedBytes / 16);
    result = (await fn.invoke(
      { action: 'items', budgetBytes: budget },
      fakeContext(),
    )) as ItemsResult;
  }, 60_000);

  it('every planned pair is in exactly one item, as the narrowing of the event selects it', () => {
    const validated = validateConfig(config);
    const seen = new Map<string, number>();
    for (const item of result.items) {
      // The config's own narrowing (as a copy invocation with this item as its event narrows it).
      const selected = selectTables(validated, { targets: item.targets, tables: item.tables });
      const pairs = selected.flatMap((t) =>
        t.tables.map((spec) => pairKey(t.config.name, spec.target)),
      );
      expect(pairs.length).toBe(item.pairs);
      for (const p of pairs) seen.set(p, (seen.get(p) ?? 0) + 1);
    }
    const all = config.targets.flatMap((t) => names.map((n) => pairKey(t.name, n)));
    expect(result.pairs).toBe(all.length);
    expect([...seen.keys()].sort()).toEqual(all.sort());
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
  });

  it('a table read once for the three targets stays in one item', () => {
    for (const item of result.items) expect(item.targets).toEqual(['one', 'two', 'three']);
  });

  it('items are within 2x of the mean by estimated bytes, except a single unit over the budget', () => {
    const over = result.items.filter((i) => i.estimatedBytes > budget);
    // The two large tables, each read once for three targets: an item each.
    expect(over.map((i) => i.tables).sort()).toEqual([['t007'], ['t150']]);
    const rest = result.items.filter((i) => i.estimatedBytes <= budget);
    expect(rest.length).toBeGreaterThanOrEqual(8);
    const mean = rest.reduce((sum, i) => sum + i.estimatedBytes, 0) / rest.length;
    for (const item of rest) {
      expect(item.estimatedBytes).toBeLessThanOrEqual(2 * mean);
      expect(item.estimatedBytes).toBeGreaterThanOrEqual(mean / 2);
    }
    expect(result.estimatedBytes).toBe(result.items.reduce((sum, i) => sum + i.estimatedBytes, 0));
  });

  it('an item as the event of a dry run plans exactly its pairs', async () => {
    for (const item of [result.items[0], result.items.at(-1)]) {
      const dry = (await fn.invoke({ ...item, dryRun: true }, fakeContext())) as {
        plan: { targets: { name: string; tables: { target: string }[] }[] };
      };
      const planned = dry.plan.targets.flatMap((t) =>
        t.tables.map((x) => pairKey(t.name, x.target)),
      );
      expect(planned.length).toBe(item?.pairs);
      expect(new Set(planned.map((p) => p.split('.')[1]))).toEqual(new Set(item?.tables));
    }
  }, 60_000);

  it('pgcopy plan --items --budget --json prints the same items', async () => {
    const out = await cli([
      'plan',
      '-c',
      join(dir, 'pgcopy.json'),
      '--items',
      '--budget',
      String(budget),
      '--json',
    ]);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual(result.items);
    const text = await cli([
      'plan',
      '-c',
      join(dir, 'pgcopy.json'),
      '--items',
      '--budget',
      String(budget),
    ]);
    expect(text.stdout.split('\n').filter((l) => l.startsWith('item ')).length).toBe(
      result.items.length,
    );
  }, 60_000);
});
