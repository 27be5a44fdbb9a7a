import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/types.js';
import { validateConfig } from '../../src/config/validate.js';
import type { ConnectionSpec } from '../../src/db/connection-spec.js';
import { Connector } from '../../src/db/connector.js';
import { createSecretsProvider } from '../../src/secrets/create-provider.js';
import { envVariableFor } from '../../src/secrets/env-provider.js';
import { resolveEndpoints } from '../../src/secrets/resolve-endpoints.js';
import { servers } from '../support/db.js';
import type { ServerInfo } from '../support/server-info.js';
import {
  clientFor,
  startSecretsManagerServer,
  type SecretsManagerServer,
} from '../support/secrets-manager-server.js';

const s = servers();
const names = { source: s.source, t1: s.target1, t2: s.target2 } as const;
type Name = keyof typeof names;

/** The ancestor's per-database layout (port as a string, `user` and `database` aliases on t2). */
function ancestorSecret(name: Name): Record<string, unknown> {
  const server = names[name];
  return name === 't2'
    ? {
        host: server.host,
        port: server.port,
        user: server.user,
        password: server.password,
        database: 'postgres',
      }
    : {
        host: server.host,
        port: String(server.port),
        username: server.user,
        password: server.password,
        dbname: 'postgres',
      };
}

/** What RDS writes: engine, dbInstanceIdentifier as the database name, port as a number. */
function rdsSecret(server: ServerInfo): Record<string, unknown> {
  return {
    engine: 'postgres',
    host: server.host,
    port: server.port,
    username: server.user,
    password: server.password,
    dbInstanceIdentifier: 'postgres',
  };
}

function secretConfig(
  secrets: Record<string, unknown>,
  refs: Record<Name, Record<string, unknown>> = {
    source: { secret: 'source' },
    t1: { secret: 't1' },
    t2: { secret: 't2' },
  },
): Config {
  return validateConfig({
    secrets,
    source: { ...refs.source, sslmode: 'disable' },
    targets: [
      { name: 't1', ...refs.t1, sslmode: 'disable', tables: ['x'] },
      { name: 't2', ...refs.t2, sslmode: 'disable', tables: ['x'] },
    ],
  });
}

/** Opens a real connection to every endpoint and checks which server answered. */
async function connectAll(specs: ConnectionSpec[]): Promise<number[]> {
  const ports: number[] = [];
  for (const spec of specs) {
    const connector = new Connector(spec);
    const client = await connector.connect();
    try {
      const result = await client.query<{ one: number; port: number }>(
        "SELECT 1 AS one, current_setting('port')::int AS port",
      );
      expect(result.rows[0]?.one).toBe(1);
      ports.push(result.rows[0]?.port ?? 0);
    } finally {
      await client.end();
      await connector.close();
    }
  }
  return ports;
}

async function resolveAndConnect(
  config: Config,
  provider: ReturnType<typeof createSecretsProvider>,
): Promise<void> {
  const { source, targets } = await resolveEndpoints(config, { secrets: provider });
  const specs = [source, targets.get('t1'), targets.get('t2')].filter(
    (x): x is ConnectionSpec => x !== undefined,
  );
  expect(await connectAll(specs)).toEqual([s.source.port, s.target1.port, s.target2.port]);
}

describe('secret: references resolve to specs that connect (AWS Secrets Manager, local endpoint)', () => {
  let sm: SecretsManagerServer;
  let client: SecretsManagerClient;

  beforeAll(async () => {
    sm = await startSecretsManagerServer();
    client = clientFor(sm);
  });
  afterAll(async () => {
    client.destroy();
    await sm.close();
  });
  afterEach(() => {
    sm.denyBatch = false;
  });

  it('per-database layout <prefix>/<env>/<name>: one BatchGetSecretValue call', async () => {
    for (const name of ['source', 't1', 't2'] as const)
      sm.put(`pgcopy/perdb/${name}`, ancestorSecret(name));
    const before = sm.requests.length;
    await resolveAndConnect(
      secretConfig({ provider: 'aws', prefix: 'pgcopy', env: 'perdb' }),
      createSecretsProvider({ provider: 'aws' }, { client }),
    );
    expect(sm.requests.slice(before).map((r) => r.operation)).toEqual(['BatchGetSecretValue']);
  });

  it('combined layout <prefix>/<env> holding { name: {...} }', async () => {
    sm.put('pgcopy/combined', {
      source: ancestorSecret('source'),
      t1: ancestorSecret('t1'),
      t2: ancestorSecret('t2'),
    });
    const before = sm.requests.length;
    await resolveAndConnect(
      secretConfig({ provider: 'aws', prefix: 'pgcopy', env: 'combined' }),
      createSecretsProvider({ provider: 'aws' }, { client }),
    );
    expect(sm.requests.slice(before).map((r) => r.operation)).toEqual([
      'BatchGetSecretValue',
      'GetSecretValue',
    ]);
  });

  it('RDS format, by secretId (name and ARN), with BatchGetSecretValue denied', async () => {
    sm.put('rds/source', rdsSecret(s.source));
    const arn1 = sm.put('rds/t1', rdsSecret(s.target1));
    sm.put('rds/t2', rdsSecret(s.target2));
    sm.denyBatch = true;
    const before = sm.requests.length;
    await resolveAndConnect(
      secretConfig(
        { provider: 'aws' },
        { source: { secretId: 'rds/source' }, t1: { secretId: arn1 }, t2: { secretId: 'rds/t2' } },
      ),
      createSecretsProvider({ provider: 'aws' }, { client: clientFor(sm, { maxAttempts: 1 }) }),
    );
    expect(sm.requests.slice(before).map((r) => r.operation)).toEqual([
      'BatchGetSecretValue',
      'GetSecretValue',
      'GetSecretValue',
      'GetSecretValue',
    ]);
  });

  it('RDS-managed master secret (username, password) completed by the config', async () => {
    const managed = (server: ServerInfo) => ({ username: server.user, password: server.password });
    sm.put('rds!db-src', managed(s.source));
    sm.put('rds!db-t1', managed(s.target1));
    sm.put('rds!db-t2', managed(s.target2));
    const at = (server: ServerInfo) => ({
      host: server.host,
      port: server.port,
      database: 'postgres',
    });
    await resolveAndConnect(
      secretConfig(
        { provider: 'aws' },
        {
          source: { secretId: 'rds!db-src', ...at(s.source) },
          t1: { secretId: 'rds!db-t1', ...at(s.target1) },
          t2: { secretId: 'rds!db-t2', ...at(s.target2) },
        },
      ),
      createSecretsProvider({ provider: 'aws' }, { client }),
    );
  });

  it('a config password overriding a wrong one in the secret still connects', async () => {
    sm.put('pgcopy/override/source', { ...ancestorSecret('source'), password: 'wrong-pw-5e6f' });
    sm.put('pgcopy/override/t1', ancestorSecret('t1'));
    sm.put('pgcopy/override/t2', ancestorSecret('t2'));
    const wrong = await resolveEndpoints(
      secretConfig({ provider: 'aws', prefix: 'pgcopy', env: 'override' }),
      { secrets: createSecretsProvider({ provider: 'aws' }, { client }) },
    );
    const error = (await new Connector(wrong.source).connect().catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(
      /^cannot connect to source \(postgres@127\.0\.0\.1:\d+\/postgres\): password authentication failed/,
    );
    expect(`${error.message} ${String(error.stack)}`).not.toContain('wrong-pw-5e6f');
    await resolveAndConnect(
      secretConfig(
        { provider: 'aws', prefix: 'pgcopy', env: 'override' },
        {
          source: { secret: 'source', password: s.source.password },
          t1: { secret: 't1' },
          t2: { secret: 't2' },
        },
      ),
      createSecretsProvider({ provider: 'aws' }, { client }),
    );
  });
});

describe('secret: references through the file and env providers', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pgcopy-secrets-it-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('file provider: per-database secrets and the combined secret in one file', async () => {
    const file = join(dir, 'secrets.json');
    await writeFile(
      file,
      JSON.stringify({
        'pgcopy/dev/source': ancestorSecret('source'),
        'pgcopy/dev': { t1: ancestorSecret('t1'), t2: rdsSecret(s.target2) },
      }),
    );
    const secrets = { provider: 'file', prefix: 'pgcopy', env: 'dev', file };
    await resolveAndConnect(
      secretConfig(secrets),
      createSecretsProvider({ provider: 'file', file }),
    );
  });

  it('env provider: PGCOPY_SECRET_<NAME> variables', async () => {
    const env = {
      [envVariableFor('pgcopy/ci/source')]: JSON.stringify(rdsSecret(s.source)),
      [envVariableFor('pgcopy/ci/t1')]: JSON.stringify(ancestorSecret('t1')),
      [envVariableFor('pgcopy/ci')]: JSON.stringify({ t2: ancestorSecret('t2') }),
    };
    expect(Object.keys(env)).toContain('PGCOPY_SECRET_PGCOPY_CI_SOURCE');
    await resolveAndConnect(
      secretConfig({ provider: 'env', prefix: 'pgcopy', env: 'ci' }),
      createSecretsProvider({ provider: 'env' }, { env }),
    );
  });
});
