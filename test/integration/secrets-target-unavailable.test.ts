import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliWithConfig } from '../support/cli.js';
import { servers, sql, uniqueName } from '../support/db.js';
import type { ServerInfo } from '../support/server-info.js';
import {
  REGION,
  startSecretsManagerServer,
  type SecretsManagerServer,
} from '../support/secrets-manager-server.js';

const s = servers();
const schema = uniqueName('secret_target');
const q = `"${schema}"`;
let sm: SecretsManagerServer;

const secretOf = (server: ServerInfo) => ({
  host: server.host,
  port: server.port,
  username: server.user,
  password: server.password,
  dbname: 'postgres',
});

function config(secrets: Record<string, unknown>, twoSecret: string) {
  return {
    secrets: { ...secrets, prefix: 'pgcopy', env: 'unavail' },
    source: { secret: 'source', schema, sslmode: 'disable' },
    targets: [
      { name: 'db_1', secret: 'one', schema, sslmode: 'disable', tables: ['t'] },
      { name: 'db_2', secret: twoSecret, schema, sslmode: 'disable', tables: ['t'] },
    ],
  };
}

const pgcopy = (command: string, cfg: unknown) => cliWithConfig(command, cfg);

beforeAll(async () => {
  sm = await startSecretsManagerServer({
    secrets: {
      'pgcopy/unavail/source': secretOf(s.source),
      'pgcopy/unavail/one': secretOf(s.target1),
      'pgcopy/unavail/denied': secretOf(s.target2),
      'pgcopy/unavail/broken': '{not json',
    },
    denied: ['pgcopy/unavail/denied'],
  });
  for (const server of [s.source, s.target1, s.target2]) {
    await sql(server, `CREATE SCHEMA ${q}; CREATE TABLE ${q}.t (id int)`);
  }
  await sql(s.source, `INSERT INTO ${q}.t SELECT generate_series(1, 7)`);
});

afterAll(async () => {
  await sm.close();
  for (const server of [s.source, s.target1, s.target2]) {
    await sql(server, `DROP SCHEMA ${q} CASCADE`);
  }
});

describe('one target whose secret is missing or unreadable fails only its own tables', () => {
  const aws = () => ({ provider: 'aws', region: REGION, endpoint: sm.endpoint });

  it.each([
    [
      'missing',
      'absent',
      /secret not found \(tried "pgcopy\/unavail\/absent", then key "absent" of "pgcopy\/unavail"\)/,
    ],
    [
      'access denied (inside the batch call)',
      'denied',
      /access denied to secret "pgcopy\/unavail\/denied" \(AccessDeniedException\)/,
    ],
    ['not JSON', 'broken', /secret "pgcopy\/unavail\/broken" is not valid JSON/],
  ])('a %s secret: the other target copies, the run exits 1', async (_what, name, message) => {
    await sql(s.target1, `TRUNCATE ${q}.t`);
    const result = await pgcopy('run', config(aws(), name));
    expect(result.stderr).not.toContain('pgcopy:');
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/db_1\s+t\s+done\s+7/);
    expect(result.stdout).toMatch(/db_2\s+t\s+error/);
    const { rows } = await sql(s.target1, `SELECT count(*)::int AS n FROM ${q}.t`);
    expect(rows[0]).toEqual({ n: 7 });

    const plan = await pgcopy('plan', config(aws(), name));
    expect(plan.code).toBe(1);
    expect(plan.stdout).toMatch(message);

    const check = await pgcopy('check', config(aws(), name));
    expect(check.code).toBe(1);
    expect(check.stdout).toMatch(message);
    expect(check.stdout).toMatch(/db_1 \(.*\)\n {2}server/);
  });

  it("the source's secret missing still stops the run", async () => {
    const cfg = config(aws(), 'one');
    const result = await pgcopy('run', { ...cfg, source: { ...cfg.source, secret: 'nowhere' } });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^pgcopy: source: secret not found/);
  });
});
