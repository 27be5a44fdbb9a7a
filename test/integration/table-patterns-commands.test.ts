import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgcopyFunction } from '../../src/lambda/handler.js';
import { cli, workDir } from '../support/cli.js';
import { fakeContext, recordingLog } from '../support/lambda.js';
import { endpointOf } from '../support/config.js';
import { servers, sql, uniqueName } from '../support/db.js';

/**
 * `check` took `tables: ["*"]` for a table named `*`... or rather for none at all: it checked
 * privileges on 0 tables and passed, and the run then failed every table with "permission
 * denied". Every command that takes the table list expands its patterns the same way.
 */
const s = servers();
const schema = uniqueName('PatternCommands');
const q = `"${schema}"`;
const role = uniqueName('no_rights').toLowerCase();
const password = `${role}-pw`;
const cleanups: (() => Promise<void>)[] = [];

const DDL = `
  CREATE SCHEMA ${q};
  CREATE TABLE ${q}.orders_a (id int PRIMARY KEY, v text);
  CREATE TABLE ${q}.orders_b (id int PRIMARY KEY, v text);
  CREATE TABLE ${q}.other (id int PRIMARY KEY);`;

function configOf(
  tables: unknown[],
  extra: Record<string, unknown> = {},
  as = {},
  options: Record<string, unknown> = {},
) {
  return {
    source: { ...endpointOf(s.source, schema), ...as },
    targets: [{ name: 'db_1', ...endpointOf(s.target1, schema), tables, ...extra, ...as }],
    options: { logDir: 'logs', ...options },
  };
}

async function command(args: string[], config: Record<string, unknown>) {
  const w = await workDir(config);
  cleanups.push(w.cleanup);
  return cli([...args, '-c', w.file], { cwd: w.dir });
}

beforeAll(async () => {
  for (const server of [s.source, s.target1]) {
    await sql(
      server,
      `${DDL}
       CREATE ROLE ${role} LOGIN PASSWORD '${password}';
       GRANT USAGE ON SCHEMA ${q} TO ${role};`,
    );
  }
  // It may read the source, and do nothing to the target's tables.
  await sql(s.source, `GRANT SELECT ON ALL TABLES IN SCHEMA ${q} TO ${role}`);
  await sql(
    s.source,
    `INSERT INTO ${q}.orders_a VALUES (1, 'a'); INSERT INTO ${q}.other VALUES (1)`,
  );
});

afterAll(async () => {
  for (const c of cleanups) await c();
  for (const server of [s.source, s.target1]) {
    await sql(server, `DROP SCHEMA ${q} CASCADE; DROP OWNED BY ${role}; DROP ROLE ${role}`);
  }
});

interface CheckJson {
  passed: boolean;
  problems: string[];
  endpoints: { name: string; checked: number; tables?: string[] }[];
}

const limited = { user: role, password };

describe('bug: check with table patterns checked privileges on 0 tables and passed', () => {
  it('tables: ["*"]: check fails naming every matched table the role may not write', async () => {
    const result = await command(['check', '--json'], configOf(['*'], {}, limited));
    const report = JSON.parse(result.stdout) as CheckJson;
    expect(result.code).toBe(1);
    expect(report.passed).toBe(false);
    expect(report.problems).toEqual([
      `db_1: INSERT on ${schema}.orders_a`,
      `db_1: INSERT on ${schema}.orders_b`,
      `db_1: INSERT on ${schema}.other`,
    ]);
    expect(report.endpoints.map((e) => [e.name, e.checked])).toEqual([
      ['source', 3],
      ['db_1', 3],
    ]);
  });

  it('other patterns and exclude: check names exactly the tables they match', async () => {
    const result = await command(
      ['check'],
      configOf(['orders_?', 'oth*'], { exclude: ['*_b'] }, limited, { mode: 'truncate' }),
    );
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`db_1: INSERT, TRUNCATE on ${schema}.orders_a`);
    expect(result.stdout).toContain(`db_1: INSERT, TRUNCATE on ${schema}.other`);
    expect(result.stdout).not.toContain('orders_b');
  });

  it('check, plan, run, verify and the Lambda function see the same tables for the same patterns', async () => {
    const config = configOf(['orders_*', { name: 'other' }, '*'], { exclude: ['*_b'] });
    const checked = JSON.parse((await command(['check', '--json'], config)).stdout) as CheckJson;
    const planned = JSON.parse((await command(['plan', '--json'], config)).stdout) as {
      targets: { tables: { target: string }[] }[];
    };
    const ran = await command(['run', '--json'], config);
    const events = ran.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; result?: { table: string } });
    const copied = events.filter((e) => e.type === 'table-done').map((e) => e.result?.table);
    const verified = JSON.parse((await command(['verify', '--json'], config)).stdout) as {
      tables: { table: string }[];
    };
    const expected = ['orders_a', 'other'];
    expect(checked.passed).toBe(true);
    expect(checked.endpoints.map((e) => [...(e.tables ?? [])].sort())).toEqual([
      expected,
      expected,
    ]);
    expect(planned.targets[0]?.tables.map((t) => t.target).sort()).toEqual(expected);
    expect(copied.sort()).toEqual(expected);
    expect(verified.tables.map((t) => t.table).sort()).toEqual(expected);

    // The Lambda function takes an event's table names that a pattern matches.
    const fn = new PgcopyFunction({
      env: { PGCOPY_CONFIG: JSON.stringify(config) },
      logger: recordingLog(),
    });
    const lambda = await fn.invoke({ tables: ['other'], dryRun: true }, fakeContext());
    expect(JSON.stringify(lambda)).toContain('"other"');
  });
});
