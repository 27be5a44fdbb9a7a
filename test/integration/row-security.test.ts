import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliWithConfig } from '../support/cli.js';
import { endpointOf } from '../support/config.js';
import { servers, sql, tableDigest, uniqueName } from '../support/db.js';

const s = servers();
const schema = uniqueName('Rls');
const q = `"${schema}"`;
const reader = uniqueName('rls_reader').toLowerCase();
const writer = uniqueName('rls_writer').toLowerCase();
const readOnly = uniqueName('rls_ro').toLowerCase();
const password = 'rls-test-password';

const pgcopy = ([command]: [string], config: Record<string, unknown>) =>
  cliWithConfig(command, config);

const as = (user: string) => ({ user, password });

function config(
  source: Record<string, unknown>,
  target: Record<string, unknown>,
  tables: unknown[],
  mode = 'truncate',
) {
  return {
    source: { ...endpointOf(s.source, schema), ...source },
    targets: [{ name: 'db_1', ...endpointOf(s.target1, schema), ...target, tables }],
    options: { mode },
  };
}

beforeAll(async () => {
  await sql(
    s.source,
    `CREATE SCHEMA ${q};
     CREATE TABLE ${q}.accounts (id int PRIMARY KEY, owner text);
     INSERT INTO ${q}.accounts SELECT g, 'o' || g FROM generate_series(1, 10) g;
     CREATE TABLE ${q}.parent (id int PRIMARY KEY);
     ALTER TABLE ${q}.accounts ENABLE ROW LEVEL SECURITY;
     CREATE POLICY only_even ON ${q}.accounts FOR SELECT USING (id % 2 = 0);
     CREATE ROLE ${reader} LOGIN PASSWORD '${password}';
     GRANT USAGE ON SCHEMA ${q} TO ${reader}; GRANT SELECT ON ${q}.accounts TO ${reader};`,
  );
  await sql(
    s.target1,
    `CREATE SCHEMA ${q};
     CREATE TABLE ${q}.accounts (id int PRIMARY KEY, owner text);
     INSERT INTO ${q}.accounts VALUES (100, 'kept'), (101, 'kept'), (102, 'kept');
     CREATE TABLE ${q}.parent (id int PRIMARY KEY);
     CREATE TABLE ${q}.child (id int, parent int REFERENCES ${q}.parent (id));
     CREATE ROLE ${writer} LOGIN PASSWORD '${password}';
     CREATE ROLE ${readOnly} LOGIN PASSWORD '${password}';
     ALTER ROLE ${readOnly} SET default_transaction_read_only = on;
     GRANT USAGE ON SCHEMA ${q} TO ${writer}, ${readOnly};
     GRANT INSERT, TRUNCATE, SELECT, UPDATE ON ${q}.accounts TO ${writer}, ${readOnly};`,
  );
});

afterAll(async () => {
  await sql(s.source, `DROP SCHEMA ${q} CASCADE; DROP OWNED BY ${reader}; DROP ROLE ${reader}`);
  await sql(
    s.target1,
    `DROP SCHEMA ${q} CASCADE; DROP OWNED BY ${writer}, ${readOnly}; DROP ROLE ${writer}, ${readOnly}`,
  );
});

describe('row-level security on the source', () => {
  it('a source role subject to a policy is a plan error naming the table and the policy; the target keeps its rows', async () => {
    const before = await tableDigest(s.target1, `SELECT * FROM ${q}.accounts`);
    const result = await pgcopy(['run'], config(as(reader), {}, ['accounts']));
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/db_1\s+accounts\s+error/);
    expect(await tableDigest(s.target1, `SELECT * FROM ${q}.accounts`)).toEqual(before);

    const plan = await pgcopy(['plan'], config(as(reader), {}, ['accounts']));
    expect(plan.code).toBe(1);
    expect(plan.stdout).toContain(
      `row-level security on source table "${schema}"."accounts" applies to role ${reader} (policy only_even)`,
    );
    const check = await pgcopy(['check'], config(as(reader), {}, ['accounts']));
    expect(check.code).toBe(1);
    expect(check.stdout).toContain(
      `source: row-level security on source table ${schema}.accounts applies to role ${reader}`,
    );
  });

  it('rowSecurity: apply copies the rows the policy lets the role see, with a warning', async () => {
    const result = await pgcopy(
      ['run'],
      config(as(reader), {}, [{ name: 'accounts', rowSecurity: 'apply' }]),
    );
    expect(result.stderr).not.toContain('error');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/db_1\s+accounts\s+done with warnings\s+5/);
    const { rows } = await sql(s.target1, `SELECT count(*)::int AS n FROM ${q}.accounts`);
    expect(rows[0]).toEqual({ n: 5 });
    const check = await pgcopy(
      ['check'],
      config(as(reader), {}, [{ name: 'accounts', rowSecurity: 'apply' }], 'append'),
    );
    expect(check.stdout).not.toContain('row-level security');
  });

  it('the copy reads with row_security off: a policy added after the plan fails the table', async () => {
    // The run's own session setting, independent of the plan: PostgreSQL raises 42501.
    const result = await sql(
      s.source,
      `SET ROLE ${reader}; SET row_security = off; SELECT count(*) FROM ${q}.accounts`,
    ).catch((error: unknown) => error as Error & { code: string });
    expect(result).toMatchObject({ code: '42501' });
    const { SESSION_SETTINGS_SQL } = await import('../../src/copy/sql.js');
    expect(SESSION_SETTINGS_SQL).toContain('SET row_security = off');
  });
});

describe('checks that pass, then the run fails: check and plan see what the run will meet', () => {
  beforeAll(async () => {
    await sql(
      s.target1,
      `ALTER TABLE ${q}.accounts ENABLE ROW LEVEL SECURITY;
       CREATE POLICY writers ON ${q}.accounts FOR ALL TO ${writer} USING (true) WITH CHECK (true);`,
    );
  });
  afterAll(async () => {
    await sql(s.target1, `ALTER TABLE ${q}.accounts DISABLE ROW LEVEL SECURITY`);
  });

  it('row-level security on a target table the role does not own', async () => {
    const cfg = config({}, as(writer), ['accounts'], 'append');
    const check = await pgcopy(['check'], cfg);
    expect(check.code).toBe(1);
    expect(check.stdout).toContain(
      `db_1: row-level security on target table ${schema}.accounts applies to role ${writer} (policy writers): PostgreSQL refuses COPY FROM into it (0A000)`,
    );
    const plan = await pgcopy(['plan'], cfg);
    expect(plan.code).toBe(1);
    expect(plan.stdout).toContain('PostgreSQL refuses COPY FROM into it (0A000)');
  });

  it('a target role whose default_transaction_read_only is on', async () => {
    const cfg = config({}, as(readOnly), [{ name: 'accounts', mode: 'append' }], 'append');
    const check = await pgcopy(['check'], cfg);
    expect(check.code).toBe(1);
    expect(check.stdout).toContain('db_1: default_transaction_read_only is on for this role');
    const plan = await pgcopy(['plan'], cfg);
    expect(plan.code).toBe(1);
    expect(plan.stdout).toContain('default_transaction_read_only is on');
  });

  it('truncate of a table another table references is a check failure, as in the plan', async () => {
    const check = await pgcopy(['check'], config({}, {}, ['parent'], 'truncate'));
    expect(check.code).toBe(1);
    expect(check.stdout).toContain(
      `db_1: truncate of ${schema}.parent: the foreign keys of "${schema}".child reference it`,
    );
    expect(check.stdout).not.toContain('source:');
  });
});
