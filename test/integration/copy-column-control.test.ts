import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { plan } from '../../src/index.js';
import { run } from '../../src/copy/run.js';
import { renderPlan, planToJson } from '../../src/plan/render-plan.js';
import { verifyTables } from '../../src/verify/verify-tables.js';
import { STRATEGIES, type Strategy } from '../../src/config/types.js';
import { servers, sql, tableDigest, uniqueName } from '../support/db.js';
import { testConfig } from '../support/config.js';

const schema = uniqueName('Column Control');
const q = `"${schema}"`;
const s = servers();
const targetSchemaOf = (strategy: Strategy): string => `${schema}_${strategy}`;

/** Per strategy: the same targets, whose column names differ from the source's. */
const targetTables = (tq: string): string => `CREATE SCHEMA ${tq};
  CREATE TABLE ${tq}.people (id int PRIMARY KEY, "Name" text, points bigint, note text, secret text DEFAULT 'hidden', flag bool);
  CREATE TABLE ${tq}.keyed (id int PRIMARY KEY, v text);
  INSERT INTO ${tq}.keyed VALUES (1, 'old'), (2, 'same 2'), (99, 'mine');
  CREATE TABLE ${tq}.swapped (id int, a text, b text);`;

beforeAll(async () => {
  await sql(
    s.source,
    `CREATE SCHEMA ${q};
     CREATE TABLE ${q}.people (id int PRIMARY KEY, full_name text, secret text, score int, note text);
     INSERT INTO ${q}.people SELECT g, 'p' || g, 'do not copy ' || g, g * 10, 'n' || g FROM generate_series(1, 20) g;
     CREATE TABLE ${q}.keyed (src_key int PRIMARY KEY, v text);
     INSERT INTO ${q}.keyed SELECT g, 'same ' || g FROM generate_series(1, 5) g;
     CREATE TABLE ${q}.swapped (id int, a text, b text);
     INSERT INTO ${q}.swapped VALUES (1, 'was a', 'was b');`,
  );
  for (const strategy of STRATEGIES)
    await sql(s.target1, targetTables(`"${targetSchemaOf(strategy)}"`));
});

afterAll(async () => {
  await sql(s.source, `DROP SCHEMA ${q} CASCADE`);
  for (const strategy of STRATEGIES) {
    await sql(s.target1, `DROP SCHEMA "${targetSchemaOf(strategy)}" CASCADE`);
  }
});

const people = {
  name: 'people',
  columns: { exclude: ['secret'], rename: { full_name: 'Name', score: 'points' } },
};

describe.each(STRATEGIES)('columns: exclude and rename, strategy %s', (strategy) => {
  const tq = `"${targetSchemaOf(strategy)}"`;
  const config = (tables: readonly unknown[]): ReturnType<typeof testConfig> =>
    testConfig(
      { server: s.source, schema },
      [{ name: 'one', server: s.target1, schema: targetSchemaOf(strategy), tables }],
      { strategy, createExtensions: true },
    );

  it('copies a renamed source column into its target column (int -> bigint included), leaves an excluded one out, and verifies a against b', async () => {
    // fdw cannot filter on the source; the others filter by source names.
    const where = strategy === 'fdw' ? {} : { where: `full_name <> 'p3' AND secret <> ''` };
    const cfg = config([
      { ...people, ...where },
      { name: 'swapped', columns: { rename: { a: 'b', b: 'a' } } },
    ]);
    const planned = (await plan(cfg)).targets[0]?.tables[0];
    expect(planned?.errors).toEqual([]);
    expect(planned?.columns).toEqual(['id', 'Name', 'points', 'note']);
    expect(planned?.excluded).toEqual(['secret']);
    expect(planned?.renamed).toEqual([
      { source: 'full_name', target: 'Name' },
      { source: 'score', target: 'points' },
    ]);
    expect(planned?.warnings).toContain(
      'column "score" -> "points": integer -> bigint converted through text',
    );

    const { report } = await run(cfg, { verify: true });
    expect(report?.tables.map((t) => [t.table, t.status, t.rows, t.error])).toEqual([
      ['people', 'warnings', strategy === 'fdw' ? 20 : 19, null],
      ['swapped', 'done', 1, null],
    ]);
    const filter = strategy === 'fdw' ? 'true' : `full_name <> 'p3'`;
    expect(
      await tableDigest(s.target1, `SELECT id, "Name", points, note FROM ${tq}.people`),
    ).toEqual(
      await tableDigest(
        s.source,
        `SELECT id, full_name, score::bigint, note FROM ${q}.people WHERE ${filter}`,
      ),
    );
    expect((await sql(s.target1, `SELECT DISTINCT secret FROM ${tq}.people`)).rows).toEqual([
      { secret: 'hidden' },
    ]);
    expect((await sql(s.target1, `SELECT a, b FROM ${tq}.swapped`)).rows).toEqual([
      { a: 'was b', b: 'was a' },
    ]);

    const verified = await verifyTables(cfg);
    expect(verified.tables.map((t) => [t.table, t.status, t.sourceRows])).toEqual([
      ['people', 'match', strategy === 'fdw' ? 20 : 19],
      ['swapped', 'match', 1],
    ]);
  });

  it('upserts on a key the source names otherwise (rename of the upsert key column)', async () => {
    const cfg = config([{ name: 'keyed', mode: 'upsert', columns: { rename: { src_key: 'id' } } }]);
    const { report } = await run(cfg, { verify: true });
    const table = report?.tables[0];
    if (strategy === 'fdw-push') {
      expect([table?.status, table?.error?.code]).toEqual(['error', 'PLAN']);
      return;
    }
    expect([table?.status, table?.rows, table?.changes, table?.error]).toEqual([
      'done',
      5,
      { inserted: 3, updated: 1, unchanged: 1 },
      null,
    ]);
    expect((await sql(s.target1, `SELECT id, v FROM ${tq}.keyed ORDER BY id`)).rows).toEqual([
      { id: 1, v: 'same 1' },
      { id: 2, v: 'same 2' },
      { id: 3, v: 'same 3' },
      { id: 4, v: 'same 4' },
      { id: 5, v: 'same 5' },
      { id: 99, v: 'mine' },
    ]);
  });
});

describe('columns: plan', () => {
  const schemaOne = targetSchemaOf('stream');
  const config = (tables: readonly unknown[]): ReturnType<typeof testConfig> =>
    testConfig({ server: s.source, schema }, [
      { name: 'one', server: s.target1, schema: schemaOne, tables },
    ]);

  it('is a plan error, naming target, table and column, to exclude or rename a column the source lacks or rename onto one the target lacks', async () => {
    const planned = await plan(
      config([
        {
          name: 'people',
          columns: {
            exclude: ['secret', 'nope'],
            rename: { full_name: 'missing', ghost: 'note', score: 'flag', note: 'id' },
          },
        },
      ]),
    );
    expect(planned.targets[0]?.tables[0]?.errors).toEqual([
      `columns.exclude: target "one", table "people": source table "${schema}"."people" has no column "nope"`,
      `columns.rename: target "one", table "people": target table "${schemaOne}"."people" has no column "missing" (for source column "full_name")`,
      `columns.rename: target "one", table "people": source table "${schema}"."people" has no column "ghost"`,
      `columns.rename: target "one", table "people": source column "note" is renamed onto "id", which source column "id" is also written into (exclude or rename it)`,
      'column "score" -> "flag": integer cannot be converted to boolean',
    ]);
  });

  it('shows excluded and renamed columns in the plan, as text and as JSON', async () => {
    const planned = await plan(config([people]));
    const text = renderPlan(planned);
    expect(text).toContain('  − people: source columns not copied (columns.exclude): "secret"\n');
    expect(text).toContain(
      '  ↔ people: columns renamed (columns.rename): "full_name" -> "Name", "score" -> "points"\n',
    );
    const json = planToJson(planned) as {
      targets: { tables: { excluded: unknown; renamed: unknown }[] }[];
    };
    expect(json.targets[0]?.tables[0]).toMatchObject({
      excluded: ['secret'],
      renamed: [
        { source: 'full_name', target: 'Name' },
        { source: 'score', target: 'points' },
      ],
    });
    const plain = planToJson(await plan(config(['keyed']))) as typeof json;
    expect(plain.targets[0]?.tables[0]).toMatchObject({ excluded: [], renamed: [] });
  });
});
