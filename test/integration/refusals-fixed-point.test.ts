import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/copy/run.js';
import { testConfig } from '../support/config.js';
import { servers, sql, tableDigest, uniqueName } from '../support/db.js';

/**
 * The plan's foreign-key rules refuse one another's tables: p cannot be truncated (q, loaded in
 * append mode, references it), so kid (a child of p) is refused, so kind (referenced by kid only)
 * cannot be truncated either, though it had formed a truncate group with kid. Found on
 * MusicBrainz: a table refused after its truncate group formed rolled the whole group back in the
 * run.
 */

const schema = uniqueName('Refusals');
const q = `"${schema}"`;
const s = servers();

const DDL = `
  CREATE SCHEMA ${q};
  CREATE TABLE ${q}.p (id int PRIMARY KEY);
  CREATE TABLE ${q}.q (id int PRIMARY KEY, p int REFERENCES ${q}.p);
  CREATE TABLE ${q}.kind (id int PRIMARY KEY);
  CREATE TABLE ${q}.kid (id int PRIMARY KEY, p int REFERENCES ${q}.p, kind int REFERENCES ${q}.kind);
  CREATE TABLE ${q}.lone (id int PRIMARY KEY);`;
const ROWS = `
  INSERT INTO ${q}.p SELECT generate_series(1, 10);
  INSERT INTO ${q}.q SELECT g, g FROM generate_series(1, 10) g;
  INSERT INTO ${q}.kind SELECT generate_series(1, 3);
  INSERT INTO ${q}.kid SELECT g, g, 1 + g % 3 FROM generate_series(1, 10) g;
  INSERT INTO ${q}.lone SELECT generate_series(1, 10);`;

beforeAll(async () => {
  await sql(s.source, `${DDL}${ROWS}`);
  await sql(s.target1, DDL);
});

afterAll(async () => {
  for (const server of [s.source, s.target1]) await sql(server, `DROP SCHEMA ${q} CASCADE`);
});

describe('bug: a table refused after its truncate group formed rolled the whole group back in the run', () => {
  it('refusals spread to a fixed point in the plan; the run fails nothing it planned', async () => {
    const config = testConfig({ server: s.source, schema }, [
      {
        name: 'db_1',
        server: s.target1,
        schema,
        tables: ['p', { name: 'q', mode: 'append' }, 'kind', 'kid', 'lone'],
      },
    ]);
    const { plan, report } = await run(config, { filters: { mode: 'truncate' } });
    const errors = new Map(
      (plan.targets[0]?.tables ?? []).map((t) => [t.targetTable, t.errors.join('; ')]),
    );
    expect(errors.get('p')).toMatch(/"(q|kid)" references this table by foreign key/);
    expect(errors.get('kid')).toMatch(/its parent table "p" is refused in this plan/);
    expect(errors.get('kind')).toMatch(/"kid" references this table by foreign key/);
    expect(errors.get('lone')).toBe('');
    // No group of the plan counts on a refused table: nothing fails in the run.
    const groups = plan.targets[0]?.truncateGroups ?? [];
    for (const g of groups) for (const name of g.tables) expect(errors.get(name)).toBe('');
    expect(report?.tables.filter((t) => t.error && t.error.code !== 'PLAN')).toEqual([]);
    expect(await tableDigest(s.target1, `SELECT * FROM ${q}.lone`)).toEqual(
      await tableDigest(s.source, `SELECT * FROM ${q}.lone`),
    );
  });
});
