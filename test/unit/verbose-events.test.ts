import { describe, expect, it } from 'vitest';
import { verboseLine } from '../../src/cli/verbose-events.js';

// --verbose's one line per step, for the events a plain run seldom emits (retries, lock waits,
// resume decisions, a lost snapshot, settled prepared parts, a ledger found or not).
const ref = { target: 'db_1', source: 'orders', table: 'orders' };
const at = '2026-12-07T02:00:00.000Z';

describe('--verbose lines', () => {
  it('says each rare step with what an operator needs: attempt, wait, decision, replacement, counts', () => {
    expect(
      verboseLine({
        type: 'table-retry',
        at,
        ref,
        attempt: 2,
        attempts: 3,
        delayMs: 500,
        error: { message: 'connection terminated', code: 'CONNECTION', transient: true },
      }),
    ).toBe('db_1.orders: retrying (attempt 2 of 3) in 500 ms: connection terminated');
    expect(verboseLine({ type: 'table-waiting', at, ref, seconds: 5, holders: [] })).toBe(
      'db_1.orders: waiting 5 s for a lock',
    );
    expect(verboseLine({ type: 'table-resume', ref, skipped: true, reason: 'done before' })).toBe(
      'db_1.orders: skipped (done before)',
    );
    expect(
      verboseLine({ type: 'table-resume', ref, skipped: false, reason: 'failed before' }),
    ).toBe('db_1.orders: copied again (failed before)');
    expect(
      verboseLine({ type: 'snapshot-lost', at, snapshot: '00000003-1', replacement: null }),
    ).toBe('snapshot 00000003-1 lost; no replacement');
    expect(
      verboseLine({ type: 'snapshot-lost', at, snapshot: '00000003-1', replacement: '00000004-1' }),
    ).toBe('snapshot 00000003-1 lost; re-exported as 00000004-1');
    expect(
      verboseLine({
        type: 'prepared-settled',
        at,
        target: 'db_2',
        committed: ['a', 'b'],
        rolledBack: ['c'],
        pending: [],
      }),
    ).toBe('db_2: prepared parts settled (2 committed, 1 rolled back)');
  });

  it('says whether the ledger is there, and why not', () => {
    const ledger = { type: 'ledger', at, target: 'db_1', schema: 'pgcopy', pruned: 0 } as const;
    expect(verboseLine({ ...ledger, available: true, committed: 3 })).toBe(
      'db_1: ledger pgcopy ready (3 pair(s) committed under this run id)',
    );
    expect(
      verboseLine({ ...ledger, available: false, committed: 0, reason: 'permission denied' }),
    ).toBe('db_1: ledger pgcopy unavailable: permission denied');
    expect(verboseLine({ ...ledger, available: false, committed: 0 })).toBe(
      'db_1: ledger pgcopy unavailable',
    );
  });

  it('says a run without a snapshot, and leaves progress out', () => {
    expect(
      verboseLine({
        type: 'run-start',
        at,
        runId: 'r1',
        snapshot: null,
        pairs: 0,
        estimatedBytes: 0,
      }),
    ).toBe('run r1: snapshot (none), 0 pair(s)');
    expect(verboseLine({ type: 'table-progress', ref, bytes: 10, seconds: 1 })).toBeUndefined();
  });
});
