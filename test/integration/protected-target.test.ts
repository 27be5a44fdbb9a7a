import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, workDir } from '../support/cli.js';
import { endpointOf } from '../support/config.js';
import { servers, sql, uniqueName } from '../support/db.js';

const s = servers();
const schema = uniqueName('Protected');
const q = `"${schema}"`;
const cleanups: (() => Promise<void>)[] = [];

/** A config file in its own working directory (the audit log goes there), and that directory. */
async function configFile(
  target: Record<string, unknown>,
  mode = 'append',
): Promise<[file: string, options: { cwd: string }]> {
  const w = await workDir({
    source: endpointOf(s.source, schema),
    targets: [{ name: 'prod', ...endpointOf(s.target1, schema), ...target }],
    options: { mode, logDir: 'logs' },
  });
  cleanups.push(w.cleanup);
  return [w.file, { cwd: w.dir }];
}

const targetRows = async (): Promise<number> =>
  ((await sql(s.target1, `SELECT count(*)::int AS n FROM ${q}.t`)).rows[0] as { n: number }).n;

beforeAll(async () => {
  await sql(
    s.source,
    `CREATE SCHEMA ${q}; CREATE TABLE ${q}.t (id int); INSERT INTO ${q}.t VALUES (1), (2)`,
  );
  await sql(
    s.target1,
    `CREATE SCHEMA ${q}; CREATE TABLE ${q}.t (id int); INSERT INTO ${q}.t VALUES (10), (11), (12)`,
  );
});

afterAll(async () => {
  for (const c of cleanups) await c();
  for (const server of [s.source, s.target1]) await sql(server, `DROP SCHEMA ${q} CASCADE`);
});

describe('bug: nothing kept truncate mode away from a production target; protected: true does', () => {
  const refusal =
    'truncate: target "prod" is protected; pass --allow-truncate prod to empty its tables';

  it('truncate from the table, the run options or --mode is a plan error on a protected target', async () => {
    const [perTable, perTableCwd] = await configFile({
      protected: true,
      tables: [{ name: 't', mode: 'truncate' }],
    });
    const plan = await cli(['plan', '-c', perTable], perTableCwd);
    expect(plan.code).toBe(1);
    expect(plan.stdout).toContain(refusal);

    const [fromOptions, fromOptionsCwd] = await configFile(
      { protected: true, tables: ['t'] },
      'truncate',
    );
    const run = await cli(['run', '-c', fromOptions, '--quiet'], fromOptionsCwd);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(refusal);
    expect(await targetRows()).toBe(3);

    const [appendConfig, appendConfigCwd] = await configFile({ protected: true, tables: ['t'] });
    const viaFlag = await cli(['plan', '-c', appendConfig, '--mode', 'truncate'], appendConfigCwd);
    expect(viaFlag.code).toBe(1);
    expect(viaFlag.stdout).toContain(refusal);
    // Append is not refused.
    expect((await cli(['plan', '-c', appendConfig], appendConfigCwd)).code).toBe(0);
  });

  it('--allow-truncate NAME lets the run empty that target; an unknown name is a usage error', async () => {
    const [file, fileCwd] = await configFile({ protected: true, tables: ['t'] }, 'truncate');
    const unknown = await cli(['run', '-c', file, '--allow-truncate', 'prdo'], fileCwd);
    expect(unknown).toMatchObject({
      code: 2,
      stderr: 'pgcopy: --allow-truncate: no target named "prdo" (targets: prod)\n',
    });
    expect(await targetRows()).toBe(3);
    const allowed = await cli(['run', '-c', file, '--allow-truncate', 'prod', '--quiet'], fileCwd);
    expect(allowed.stderr).toBe('');
    expect(allowed.code).toBe(0);
    expect(await targetRows()).toBe(2);
  });

  it('protected must be a boolean', async () => {
    const [file, fileCwd] = await configFile({ protected: 'yes', tables: ['t'] });
    expect(await cli(['plan', '-c', file], fileCwd)).toMatchObject({
      code: 2,
      stderr: 'pgcopy: targets[0].protected: expected true or false, got "yes"\n',
    });
  });
});
