import { describe, expect, it } from 'vitest';
import type { ConnectionSpec } from '../../src/db/connection-spec.js';
import { withLinkCertificateRule } from '../../src/plan/link-rules.js';
import { tablePlan } from '../support/table-plan.js';

const endpoint = (name: string, extra: Partial<ConnectionSpec> = {}): ConnectionSpec => ({
  name,
  host: 'db',
  port: 5432,
  database: 'app',
  user: 'u',
  sslmode: 'require',
  ...extra,
});
const certificate = { sslcert: '/c.crt', sslkey: '/c.key' };

describe('server-side strategies and client certificates', () => {
  it.each([
    ['dblink', 'source', "which the target's server cannot present"],
    ['fdw', 'source', "which the target's server cannot present"],
    ['fdw-push', 'db_1', "which the source's server cannot present"],
  ] as const)('%s: the far endpoint (%s) with sslcert refuses the pair', (strategy, far, text) => {
    const endpoints = {
      source: endpoint('source', far === 'source' ? certificate : {}),
      target: endpoint('db_1', far === 'db_1' ? certificate : {}),
    };
    const planned = withLinkCertificateRule(tablePlan({ strategy }), endpoints);
    expect(planned.errors.at(-1)).toContain(`${far} logs in with a client certificate`);
    expect(planned.errors.at(-1)).toContain(text);
  });

  it('stream, a near-side certificate, or sslmode disable leave the plan alone', () => {
    const source = endpoint('source', certificate);
    const target = endpoint('db_1', certificate);
    const plain = endpoint('db_1');
    expect(
      withLinkCertificateRule(tablePlan({ strategy: 'stream' }), { source, target }).errors,
    ).toEqual([]);
    expect(
      withLinkCertificateRule(tablePlan({ strategy: 'fdw-push' }), { source, target: plain })
        .errors,
    ).toEqual([]);
    const off = endpoint('source', { ...certificate, sslmode: 'disable' });
    expect(
      withLinkCertificateRule(tablePlan({ strategy: 'dblink' }), { source: off, target }).errors,
    ).toEqual([]);
  });
});
