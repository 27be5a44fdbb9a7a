import { describe, expect, it } from 'vitest';
import { loadLockOf, preparedLine, preparedWait } from '../../src/plan/prepared-waits.js';
import { withPreparedLocks } from '../../src/plan/prepared-rules.js';
import { tablePlan } from '../support/table-plan.js';

describe('what a prepared transaction holding locks on a table means for its load', () => {
  it('the load takes ROW EXCLUSIVE, but ACCESS EXCLUSIVE to truncate or to drop indexes', () => {
    expect(loadLockOf('append', false)).toBe('RowExclusiveLock');
    expect(loadLockOf('upsert', false)).toBe('RowExclusiveLock');
    expect(loadLockOf('insert-new', false)).toBe('RowExclusiveLock');
    expect(loadLockOf('append', true)).toBe('AccessExclusiveLock');
    expect(loadLockOf('truncate', false)).toBe('AccessExclusiveLock');
  });

  it('waits at once on a conflicting mode, on rows where it only wrote or locked some, never on a read', () => {
    const row = 'RowExclusiveLock';
    expect(preparedWait(['ShareLock'], row)).toBe('table');
    expect(preparedWait(['ShareRowExclusiveLock'], row)).toBe('table');
    expect(preparedWait(['ExclusiveLock'], row)).toBe('table');
    expect(preparedWait(['AccessExclusiveLock'], row)).toBe('table');
    expect(preparedWait(['RowExclusiveLock'], row)).toBe('rows');
    expect(preparedWait(['RowShareLock'], row)).toBe('rows');
    expect(preparedWait(['AccessShareLock'], row)).toBe('none');
    expect(preparedWait(['ShareUpdateExclusiveLock'], row)).toBe('none');
    // ACCESS EXCLUSIVE waits for every other lock, a read's included.
    expect(preparedWait(['AccessShareLock'], 'AccessExclusiveLock')).toBe('table');
  });

  it('the remedy quotes the GID as an SQL literal (a GID is any text)', () => {
    const line = preparedLine(
      {
        gid: "it's",
        owner: 'app',
        database: 'shop',
        preparedAt: '2026-01-01T00:00:00.000Z',
        seconds: 60,
        leftByPgcopy: false,
        tables: [{ table: 'orders', modes: ['ShareLock'], waits: 'table' }],
      },
      undefined,
    );
    expect(line).toBe(
      `prepared transaction "it's" (someone else's; owner app, database shop, prepared 2026-01-01T00:00:00.000Z, 60 s ago) locks orders (ShareLock: the load waits for it): it keeps its locks until an administrator runs COMMIT PREPARED 'it''s' or ROLLBACK PREPARED 'it''s'; the run waits for it for as long as it stays (no lockTimeout is set)`,
    );
  });

  it('an append whose indexes are rebuilt waits for a read too (DROP INDEX takes ACCESS EXCLUSIVE); a refused table gets no warning', () => {
    const reading = {
      gid: 'report_1',
      owner: 'app',
      database: 'shop',
      preparedAt: '2026-01-01T00:00:00.000Z',
      seconds: 60,
      leftByPgcopy: false,
    };
    const { tables, prepared } = withPreparedLocks(
      [
        tablePlan({ targetTable: 'kept' }),
        tablePlan({ targetTable: 'rebuilt', rebuildIndexes: { indexes: ['rebuilt_v_idx'] } }),
        tablePlan({ targetTable: 'refused', mode: 'truncate', errors: ['no such table'] }),
      ],
      [
        {
          ...reading,
          tables: ['kept', 'rebuilt', 'refused'].map((table) => ({
            table,
            modes: ['AccessShareLock'],
          })),
        },
      ],
      5000,
    );
    expect(prepared[0]?.tables.map((t) => [t.table, t.waits])).toEqual([
      ['kept', 'none'],
      ['rebuilt', 'table'],
      ['refused', 'table'],
    ]);
    expect(tables.map((t) => t.warnings.length)).toEqual([0, 1, 0]);
    expect(tables[1]?.warnings[0]).toBe(
      `prepared transaction "report_1" holds AccessShareLock on it (someone else's, owner app): the append waits for it until lockTimeout (5000 ms) ends the wait and fails the table; an administrator ends it with COMMIT PREPARED or ROLLBACK PREPARED`,
    );
  });
});
