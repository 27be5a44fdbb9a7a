import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliWithConfig } from '../support/cli.js';
import { endpointOf } from '../support/config.js';
import { servers } from '../support/db.js';
import { startFakeAuthServer, type FakeAuthServer } from '../support/fake-pg-auth-server.js';
import { makeTestCa, type TestCa } from '../support/tls-server.js';

const s = servers();

/**
 * RDS IAM authentication: the password is a token the AWS SDK's own signer makes (with the static
 * test credentials of vitest.config.ts), sent only over TLS. A stand-in server that speaks TLS and
 * asks for a cleartext password records what pgcopy sends.
 */
describe('auth: iam sends an RDS IAM token as the password, over TLS only', () => {
  let ca: TestCa;
  let fake: FakeAuthServer;

  beforeAll(async () => {
    ca = await makeTestCa(['localhost']);
    fake = await startFakeAuthServer({ tls: { cert: ca.serverCert, key: ca.serverKey } });
  });

  afterAll(async () => {
    await fake.close();
    await ca.remove();
  });

  const run = (source: Record<string, unknown>, env: Record<string, string> = {}) =>
    cliWithConfig(
      'run',
      {
        source: {
          host: '127.0.0.1',
          port: fake.port,
          database: 'postgres',
          user: 'iam_reader',
          auth: 'iam',
          ...source,
        },
        targets: [{ name: 'db_1', ...endpointOf(s.target1, 'public'), tables: ['t'] }],
      },
      { env },
    );

  it('bug: no RDS IAM authentication; the signer’s token for host:port and user is the password', async () => {
    const before = fake.attempts.length;
    const result = await run({ region: 'eu-west-1' });
    expect(result.code).not.toBe(0);
    const attempt = fake.attempts[before];
    expect(attempt?.encrypted).toBe(true);
    expect(attempt?.startup['user']).toBe('iam_reader');
    const token = attempt?.password ?? '';
    expect(token).toMatch(
      new RegExp(
        `^127\\.0\\.0\\.1:${fake.port}/\\?Action=connect&DBUser=iam_reader` +
          '&X-Amz-Algorithm=AWS4-HMAC-SHA256' +
          '&X-Amz-Credential=AKIDTESTONLY%2F\\d{8}%2Feu-west-1%2Frds-db%2Faws4_request' +
          '&X-Amz-Date=\\d{8}T\\d{6}Z&X-Amz-Expires=900' +
          '&X-Amz-Signature=[0-9a-f]{64}&X-Amz-SignedHeaders=host$',
      ),
    );
    // A token is a password: never printed.
    expect(result.stderr).not.toContain('X-Amz-Signature');
    expect(result.stdout).not.toContain('X-Amz-Signature');
  });

  it('the region comes from AWS_REGION when the endpoint names none', async () => {
    const before = fake.attempts.length;
    await run({}, { AWS_REGION: 'sa-east-1' });
    expect(fake.attempts[before]?.password).toContain('%2Fsa-east-1%2Frds-db%2F');
  });

  it('no region anywhere is a config error naming source.region', async () => {
    const result = await run({});
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'pgcopy: source.region: is required for auth: iam (or set AWS_REGION)\n',
    );
  });

  it.each(['disable', 'prefer'])(
    'sslmode %s beside auth: iam is a config error naming the key; nothing is sent',
    async (sslmode) => {
      const before = fake.attempts.length;
      const result = await run({ region: 'eu-west-1', sslmode });
      expect(result.code).toBe(2);
      expect(result.stderr).toBe(
        `pgcopy: source.sslmode: "${sslmode}" with source.auth: iam; an IAM token is sent only over TLS (use require, verify-ca or verify-full)\n`,
      );
      expect(fake.attempts.length).toBe(before);
    },
  );

  it('PGSSLMODE=prefer for the source is refused the same way, naming PGSSLMODE', async () => {
    const result = await run({ region: 'eu-west-1' }, { PGSSLMODE: 'prefer' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('pgcopy: PGSSLMODE: "prefer" with source.auth: iam');
  });

  it('a target with auth: iam gets a token too (every endpoint, not only the source)', async () => {
    const before = fake.attempts.length;
    const result = await cliWithConfig('run', {
      source: endpointOf(s.source, 'public'),
      targets: [
        {
          name: 'rds',
          host: '127.0.0.1',
          port: fake.port,
          database: 'postgres',
          user: 'iam_writer',
          auth: 'iam',
          region: 'us-east-2',
          tables: ['t'],
        },
      ],
    });
    expect(result.code).not.toBe(0);
    const attempt = fake.attempts.slice(before).find((a) => a.startup['user'] === 'iam_writer');
    expect(attempt?.encrypted).toBe(true);
    expect(attempt?.password).toMatch(
      new RegExp(`^127\\.0\\.0\\.1:${fake.port}/\\?Action=connect&DBUser=iam_writer&`),
    );
  });
});
