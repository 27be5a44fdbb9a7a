import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  ConnectError,
  PgcopyError,
  SecretError,
  TunnelError,
} from '../../src/errors.js';
import { ERROR_TYPES, errorTypeOf, withErrorType } from '../../src/lambda/error-type.js';
import { RunFailedError } from '../../src/lambda/run-failed.js';
import type { RunReport, TableError, TableResult } from '../../src/report/events.js';

function table(name: string, error: TableError | null): TableResult {
  return {
    target: 'one',
    source: name,
    table: name,
    status: error ? 'error' : 'done',
    rows: error ? 0 : 10,
    bytes: 0,
    seconds: 0,
    strategy: 'stream',
    format: 'binary',
    mode: 'append',
    columns: ['id'],
    skipped: { sourceOnly: [], targetOnly: [] },
    warnings: [],
    error,
  };
}

function failedRun(...errors: (TableError | null)[]): RunFailedError {
  const report: RunReport = {
    startedAt: '2026-12-06T21:47:00.000Z',
    finishedAt: '2026-12-06T21:48:00.000Z',
    status: 'error',
    snapshot: null,
    tables: errors.map((e, i) => table(`t${i}`, e)),
  };
  return new RunFailedError(report);
}

const cut: TableError = { code: 'CONNECTION_LOST', message: 'cut', transient: true };
const duplicate: TableError = { code: 'POSTGRES', message: 'duplicate key', sqlstate: '23505' };
const timedOut: TableError = { code: 'TIMEOUT', message: 'timed out' };
const snapshotLost: TableError = { code: 'SNAPSHOT_LOST', message: 'lost' };
const grouped: TableError = { code: 'GROUP_ROLLED_BACK', message: 'not copied: t0 failed' };
const orphan: TableError = { code: 'PARENT_NOT_LOADED', message: 'parent not loaded' };
// A drop during COMMIT: the outcome is the server's, a new attempt could copy the rows twice.
const atCommit: TableError = { code: 'CONNECTION_LOST', message: 'at commit', transient: false };

describe("a failed run's errorType", () => {
  it.each([
    ['every failed table transient', [cut, null, cut], ERROR_TYPES.transient],
    [
      'a lost snapshot (a new invocation takes a new one)',
      [snapshotLost, cut],
      ERROR_TYPES.transient,
    ],
    [
      'one table failed for good among transient ones',
      [cut, duplicate, cut],
      ERROR_TYPES.tableFailed,
    ],
    ['a connection lost during COMMIT', [atCommit], ERROR_TYPES.tableFailed],
    ['the time limit stopped a table', [timedOut, null], ERROR_TYPES.timeLimit],
    ['the time limit and transient failures', [timedOut, cut], ERROR_TYPES.timeLimit],
    ['the time limit and a table failed for good', [timedOut, duplicate], ERROR_TYPES.tableFailed],
    [
      'tables that only followed a transient failure',
      [cut, grouped, orphan],
      ERROR_TYPES.transient,
    ],
    ['tables that only followed a lasting one', [grouped, duplicate], ERROR_TYPES.tableFailed],
    ['followers alone', [grouped], ERROR_TYPES.tableFailed],
  ])('%s', (_what, errors, expected) => {
    expect(errorTypeOf(failedRun(...errors))).toBe(expected);
  });
});

describe("a thrown error's errorType", () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), {
    code: 'ECONNREFUSED',
  });
  const badLogin = Object.assign(new Error('password authentication failed'), { code: '28P01' });
  it.each([
    ['a ConfigError', new ConfigError('event.mode: bad'), ERROR_TYPES.config],
    [
      'the deadline before any table',
      new PgcopyError('TIMEOUT', 'timed out'),
      ERROR_TYPES.timeLimit,
    ],
    [
      'a dry run whose plan refuses a table',
      new PgcopyError('PLAN', 'dry run'),
      ERROR_TYPES.tableFailed,
    ],
    [
      'a refused connection',
      new ConnectError('source', 'cannot connect', { cause: refused }),
      ERROR_TYPES.transient,
    ],
    [
      'a refused login',
      new ConnectError('source', 'cannot connect', { cause: badLogin }),
      ERROR_TYPES.config,
    ],
    [
      'a host key mismatch',
      new TunnelError('mismatch', { code: 'TUNNEL_HOST_KEY' }),
      ERROR_TYPES.config,
    ],
    ['an SSH key refused', new TunnelError('auth', { code: 'TUNNEL_AUTH' }), ERROR_TYPES.config],
    [
      'an SSH handshake timeout',
      new TunnelError('slow', { code: 'TUNNEL_TIMEOUT' }),
      ERROR_TYPES.transient,
    ],
    [
      'a dropped tunnel',
      new TunnelError('dropped', { code: 'TUNNEL_DROPPED' }),
      ERROR_TYPES.transient,
    ],
    ['a missing secret', new SecretError('secret not found'), ERROR_TYPES.config],
    [
      'no answer from Secrets Manager',
      new SecretError('no answer', { code: 'SECRET_TIMEOUT' }),
      ERROR_TYPES.transient,
    ],
    [
      'a terminated backend',
      Object.assign(new Error('terminating'), { code: '57P01' }),
      ERROR_TYPES.transient,
    ],
    ['an unexpected error', new TypeError('x is undefined'), ERROR_TYPES.failed],
  ])('%s', (_what, error, expected) => {
    expect(errorTypeOf(error)).toBe(expected);
  });

  it('names the error by its errorType and keeps its class, code and message', () => {
    const error = withErrorType(new ConfigError('event.mode: bad'));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({
      name: 'PgcopyConfig',
      code: 'CONFIG',
      message: 'event.mode: bad',
    });
    const thrown = withErrorType('a string');
    expect(thrown.name).toBe('PgcopyFailed');
    expect(thrown.message).toBe('non-error thrown: a string');
  });

  it('the names are stable: deployments retry on them', () => {
    expect(Object.values(ERROR_TYPES).sort()).toEqual([
      'PgcopyConfig',
      'PgcopyFailed',
      'PgcopyTableFailed',
      'PgcopyTimeLimit',
      'PgcopyTransient',
    ]);
  });
});
