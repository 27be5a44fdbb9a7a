import { describe, expect, it } from 'vitest';
import { parsePostgresUrl } from '../../src/config/parse-url.js';
import { validateConfig } from '../../src/config/validate.js';
import { connectTimeoutMs } from '../../src/db/pg-client-config.js';

const target = { name: 'db_1', host: 'h', database: 'd', user: 'u', tables: ['t'] };

describe('connection settings in URLs and fields', () => {
  it('connect_timeout as libpq reads it: whole seconds, 0 or less is no limit, 1 counts as 2, default 30', () => {
    const seconds = (value: string): number | undefined =>
      parsePostgresUrl('source.url', `postgres://h/d?connect_timeout=${value}`).parts
        .connectTimeout;
    expect([seconds('10'), seconds('0'), seconds('-5'), seconds(' 3 ')]).toEqual([10, 0, 0, 3]);
    expect([
      connectTimeoutMs(undefined),
      connectTimeoutMs(0),
      connectTimeoutMs(1),
      connectTimeoutMs(7),
    ]).toEqual([30_000, 0, 2_000, 7_000]);
    expect(() => seconds('1.5')).toThrow(
      'source.url: connect_timeout: expected whole seconds (0: no limit), got "1.5"',
    );
  });

  it('an unsupported parameter names the ones pgcopy reads', () => {
    expect(() => parsePostgresUrl('source.url', 'postgres://h/d?target_session_attrs=any')).toThrow(
      'source.url: unsupported URL parameter "target_session_attrs" (supported: sslmode, connect_timeout, sslrootcert, sslcert, sslkey, sslpassword, application_name)',
    );
  });

  it('sslpassword given twice, or in the URL and as a field, is warned about without its values', () => {
    const config = validateConfig({
      source: {
        url: 'postgres://h/d?sslpassword=first-secret&sslpassword=second-secret&application_name=a',
        sslpassword: 'field-secret',
        applicationName: 'b',
      },
      targets: [target],
    });
    const warnings = (config.warnings ?? []).join('\n');
    expect(warnings).toContain(
      'source.url: sslpassword is given twice; the last one is used (values not shown)',
    );
    expect(warnings).toContain(
      'source.sslpassword overrides sslpassword in source.url (values not shown)',
    );
    expect(warnings).toContain(
      'source.applicationName: "b" overrides application_name=a in source.url',
    );
    expect(warnings).not.toMatch(/first-secret|second-secret|field-secret/);
    expect(config.source.sslpassword).toBe('field-secret');
  });

  it('the fields are validated with the key named: connectTimeout in seconds, auth and its values', () => {
    expect(() =>
      validateConfig({
        source: { host: 'h', connectTimeout: '5s', auth: 'kerberos' },
        targets: [target],
      }),
    ).toThrow(
      /source\.connectTimeout: expected whole seconds from 0 to 86400[\s\S]*source\.auth: expected one of password, iam/,
    );
  });
});
