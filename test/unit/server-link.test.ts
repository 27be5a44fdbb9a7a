import { describe, expect, it } from 'vitest';
import type { ConnectionSpec } from '../../src/db/connection-spec.js';
import { conninfo, serverLink, serverLinkOf } from '../../src/copy/strategies/server-link.js';

const spec: ConnectionSpec = {
  name: 'source',
  host: 'db.internal',
  port: 5433,
  database: 'app db',
  user: 'reader',
  password: `it's a "pass\\word"`,
  sslmode: 'verify-full',
};

describe('serverLink and conninfo: how one server reaches the other', () => {
  it('uses the endpoint, lowering verify-* to require (a server cannot use pgcopy’s CA file)', () => {
    expect(serverLink(spec)).toEqual({
      host: 'db.internal',
      port: 5433,
      dbname: 'app db',
      user: 'reader',
      password: spec.password,
      sslmode: 'require',
      applicationName: 'pgcopy',
    });
    expect(serverLink({ ...spec, sslmode: 'disable' }).sslmode).toBe('disable');
  });

  it("carries the endpoint's application_name and connect_timeout to the other server", () => {
    const link = serverLink({ ...spec, applicationName: 'nightly', connectTimeout: 7 });
    expect(conninfo(link)).toContain(`application_name='nightly' connect_timeout='7'`);
  });

  it('bug: auth iam reached dblink/fdw without a password; serverLinkOf gives the other server a new token', async () => {
    const iam: ConnectionSpec = {
      name: spec.name,
      host: spec.host,
      port: spec.port,
      database: spec.database,
      user: spec.user,
      sslmode: 'require',
      auth: 'iam',
      region: 'eu-west-1',
    };
    const link = await serverLinkOf(iam, async ({ host, port, user, region }) =>
      Promise.resolve(`token-for-${user}@${host}:${port}/${region}`),
    );
    expect(link.password).toBe('token-for-reader@db.internal:5433/eu-west-1');
    expect((await serverLinkOf(spec)).password).toBe(spec.password);
  });

  it('prefers serverAddress, with its own sslmode', () => {
    const link = serverLink({
      ...spec,
      serverAddress: { host: '10.0.0.5', port: 5432, sslmode: 'prefer' },
    });
    expect([link.host, link.port, link.sslmode]).toEqual(['10.0.0.5', 5432, 'prefer']);
  });

  it('quotes every value as libpq reads it: quotes and backslashes escaped, no password key when there is none', () => {
    expect(conninfo(serverLink(spec))).toBe(
      `host='db.internal' port='5433' dbname='app db' user='reader' password='it\\'s a "pass\\\\word"' sslmode='require' application_name='pgcopy'`,
    );
    const withoutPassword: ConnectionSpec = {
      name: spec.name,
      host: spec.host,
      port: spec.port,
      database: spec.database,
      user: spec.user,
      sslmode: spec.sslmode,
    };
    expect(conninfo(serverLink(withoutPassword))).not.toContain('password');
  });
});
