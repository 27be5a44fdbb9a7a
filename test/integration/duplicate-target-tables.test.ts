import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/validate.js';
import type { Config } from '../../src/config/types.js';
import { run } from '../../src/copy/run.js';
import type { RunReport } from '../../src/report/events.js';
import { endpointOf } from '../support/config.js';
import { servers, sql, uniqueName, urlOf } from '../support/db.js';

// Two targets of one config that reach one database (under other names, by other addresses) and
// write the same table: in truncate mode with a shared read, the second TRUNCATE waited on the
// first one's lock, held by the same read, until pgcopy was killed.
const schema = uniqueName('Duplicate Targets');
const elsewhere = uniqueName('Duplicate Targets Other');
const q = `"${schema}"`;
const s = servers();

beforeAll(async () => {
  await sql(
    s.source,
    `CREATE SCHEMA ${q};
     CREATE TABLE ${q}.t (id int PRIMARY KEY, v text);
     INSERT INTO ${q}.t SELECT g, 'v' || g FROM generate_series(1, 100) g;
     CREATE TABLE ${q}.u (id int PRIMARY KEY);
     INSERT INTO ${q}.u SELECT generate_series(1, 10);`,
  );
  for (const name of [schema, elsewhere]) {
    await sql(
      s.target1,
      `CREATE SCHEMA "${name}";
       CREATE TABLE "${name}".t (id int PRIMARY KEY, v text);
       CREATE TABLE "${name}".u (id int PRIMARY KEY);`,
    );
  }
});

afterAll(async () => {
  await sql(s.source, `DROP SCHEMA ${q} CASCADE`);
  await sql(s.target1, `DROP SCHEMA ${q} CASCADE; DROP SCHEMA "${elsewhere}" CASCADE`);
});

/** Target `by_fields` names target1 by host and port, `by_url` by a URL, both in `schema`. */
function configOf(
  tables: { byFields: unknown[]; byUrl: unknown[] },
  options: Record<string, unknown>,
  urlSchema = schema,
): Config {
  return validateConfig({
    source: endpointOf(s.source, schema),
    targets: [
      { name: 'by_fields', ...endpointOf(s.target1, schema), tables: tables.byFields },
      {
        name: 'by_url',
        url: `${urlOf(s.target1)}?sslmode=disable`,
        schema: urlSchema,
        tables: tables.byUrl,
      },
    ],
    // A lock timeout and no retries: without the rule, the run fails instead of waiting forever.
    options: { lockTimeout: '2s', retries: 0, ...options },
  });
}

const outcomes = (report: RunReport | undefined): unknown[] =>
  (report?.tables ?? []).map((t) => [t.target, t.table, t.error?.code ?? null]);

const rows = async (table: string, name = schema): Promise<number> =>
  (
    (await sql(s.target1, `SELECT count(*)::int AS n FROM "${name}".${table}`)).rows[0] as {
      n: number;
    }
  ).n;

const refusal = (other: string): string =>
  `target "${other}" writes this same table too ("${schema}"."t" in the same database, from source table "t"): one table cannot be copied into twice in one run (list it in one target only)`;

describe('bug: two targets that are one table waited on their own lock until killed', () => {
  it('is a plan error for both pairs, in every mode, with or without the shared read; the other tables copy', async () => {
    for (const mode of ['truncate', 'append', 'upsert', 'insert-new'] as const) {
      for (const readOnce of [true, false]) {
        await sql(s.target1, `TRUNCATE ${q}.t, ${q}.u`);
        const config = configOf({ byFields: ['t', 'u'], byUrl: ['t'] }, { mode, readOnce });
        const { plan, report } = await run(config);
        const context = `${mode}, readOnce ${String(readOnce)}`;
        expect(
          plan.targets.map((t) => t.tables.map((p) => p.errors)),
          context,
        ).toEqual([[[refusal('by_url')], []], [[refusal('by_fields')]]]);
        expect(outcomes(report), context).toEqual([
          ['by_fields', 't', 'PLAN'],
          ['by_fields', 'u', null],
          ['by_url', 't', 'PLAN'],
        ]);
        expect([await rows('t'), await rows('u')], context).toEqual([0, 10]);
      }
    }
  }, 120_000);

  it('a pattern that matches the table in one target counts the same as a name', async () => {
    await sql(s.target1, `TRUNCATE ${q}.t, ${q}.u`);
    const config = configOf(
      { byFields: ['*'], byUrl: [{ name: 't', mode: 'append' }] },
      {
        mode: 'truncate',
      },
    );
    const { report } = await run(config);
    expect(outcomes(report)).toEqual([
      ['by_fields', 't', 'PLAN'],
      ['by_fields', 'u', null],
      ['by_url', 't', 'PLAN'],
    ]);
  });

  it('a table of the same name in another schema of the same database is another table', async () => {
    await sql(s.target1, `TRUNCATE ${q}.t, ${q}.u, "${elsewhere}".t`);
    const config = configOf({ byFields: ['t'], byUrl: ['t'] }, { mode: 'truncate' }, elsewhere);
    const { report } = await run(config);
    expect(outcomes(report)).toEqual([
      ['by_fields', 't', null],
      ['by_url', 't', null],
    ]);
    expect([await rows('t'), await rows('t', elsewhere)]).toEqual([100, 100]);
  });
});
