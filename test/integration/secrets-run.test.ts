import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/validate.js';
import { run } from '../../src/copy/run.js';
import { SecretError } from '../../src/errors.js';
import type { RunEvent } from '../../src/report/events.js';
import { createSecretsProvider } from '../../src/secrets/create-provider.js';
import { servers, sql, tableDigest, uniqueName } from '../support/db.js';
import type { ServerInfo } from '../support/server-info.js';
import {
  clientFor,
  startSecretsManagerServer,
  type SecretsManagerServer,
} from '../support/secrets-manager-server.js';

const s = servers();
const schema = uniqueName('secrets_run');
const q = `"${schema}"`;
const passwords = [s.source.password, s.target1.password, s.target2.password];

let sm: SecretsManagerServer;
let client: SecretsManagerClient;

const perDatabase = (server: ServerInfo) => ({
  host: server.host,
  port: String(server.port),
  username: server.user,
  password: server.password,
  dbname: 'postgres',
});
const rds = (server: ServerInfo) => ({
  engine: 'postgres',
  host: server.host,
  port: server.port,
  username: server.user,
  password: server.password,
  dbInstanceIdentifier: 'postgres',
});

beforeAll(async () => {
  sm = await startSecretsManagerServer({
    secrets: {
      'pgcopy/perdb/source': perDatabase(s.source),
      'pgcopy/perdb/one': perDatabase(s.target1),
      'pgcopy/perdb/two': perDatabase(s.target2),
      'pgcopy/combined': {
        source: perDatabase(s.source),
        one: perDatabase(s.target1),
        two: perDatabase(s.target2),
      },
      'pgcopy/rds/source': rds(s.source),
      'pgcopy/rds/one': rds(s.target1),
      'pgcopy/rds/two': rds(s.target2),
    },
  });
  client = clientFor(sm);
  await sql(
    s.source,
    `CREATE SCHEMA ${q};
     CREATE TABLE ${q}.items (id int PRIMARY KEY, name text);
     INSERT INTO ${q}.items SELECT g, 'item ' || g FROM generate_series(1, 500) g;`,
  );
  for (const target of [s.target1, s.target2]) {
    await sql(
      target,
      `CREATE SCHEMA ${q}; CREATE TABLE ${q}.items (id int PRIMARY KEY, name text);`,
    );
  }
});

afterAll(async () => {
  client.destroy();
  await sm.close();
  for (const server of [s.source, s.target1, s.target2]) {
    await sql(server, `DROP SCHEMA ${q} CASCADE`);
  }
});

function configFor(env: string) {
  return validateConfig({
    secrets: { provider: 'aws', prefix: 'pgcopy', env },
    source: { secret: 'source', schema, sslmode: 'disable' },
    targets: [
      { name: 'one', secret: 'one', schema, sslmode: 'disable', tables: ['items'] },
      { name: 'two', secret: 'two', schema, sslmode: 'disable', tables: ['items'] },
    ],
    options: { mode: 'truncate' },
  });
}

describe('a run whose source and both targets are secret: references', () => {
  it.each(['perdb', 'combined', 'rds'])(
    'copies with the %s layout and never shows a password',
    async (env) => {
      const events: RunEvent[] = [];
      const outcome = await run(configFor(env), {
        onEvent: (e) => events.push(e),
        deps: { secrets: createSecretsProvider({ provider: 'aws' }, { client }) },
      });
      expect(outcome.report?.tables.map((t) => [t.target, t.status, t.rows])).toEqual([
        ['one', 'done', 500],
        ['two', 'done', 500],
      ]);
      const expected = await tableDigest(s.source, `SELECT * FROM ${q}.items`);
      expect(await tableDigest(s.target1, `SELECT * FROM ${q}.items`)).toEqual(expected);
      expect(await tableDigest(s.target2, `SELECT * FROM ${q}.items`)).toEqual(expected);
      const output = JSON.stringify({ events, outcome });
      for (const password of passwords) expect(output).not.toContain(password);
    },
  );

  it("a target's missing secret fails its tables, naming the ids and no password", async () => {
    const config = validateConfig({
      secrets: { provider: 'aws', prefix: 'pgcopy', env: 'perdb' },
      source: { secret: 'source', schema, sslmode: 'disable' },
      targets: [{ name: 'three', secret: 'three', schema, tables: ['items'] }],
    });
    const { report } = await run(config, {
      deps: { secrets: createSecretsProvider({ provider: 'aws' }, { client }) },
    });
    expect(report?.status).toBe('error');
    expect(report?.tables[0]?.error?.message).toContain(
      'targets[0]: secret not found (tried "pgcopy/perdb/three", then key "three" of "pgcopy/perdb")',
    );
    for (const password of passwords) expect(JSON.stringify(report)).not.toContain(password);
  });

  it('fails before connecting when the source secret is missing, naming the ids and no password', async () => {
    const config = validateConfig({
      secrets: { provider: 'aws', prefix: 'pgcopy', env: 'perdb' },
      source: { secret: 'nowhere', schema, sslmode: 'disable' },
      targets: [{ name: 'one', secret: 'one', schema, tables: ['items'] }],
    });
    const error = (await run(config, {
      deps: { secrets: createSecretsProvider({ provider: 'aws' }, { client }) },
    }).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(SecretError);
    expect(error.message).toBe(
      'source: secret not found (tried "pgcopy/perdb/nowhere", then key "nowhere" of "pgcopy/perdb")',
    );
    for (const password of passwords) expect(String(error.stack)).not.toContain(password);
  });
});
