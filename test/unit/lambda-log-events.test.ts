import { describe, expect, it } from 'vitest';
import { logRunEvent, type LogSink } from '../../src/lambda/log-events.js';
import type { RunEvent } from '../../src/report/events.js';

function sink(): LogSink & {
  lines: { level: string; message: string; fields: Record<string, unknown> }[];
} {
  const lines: { level: string; message: string; fields: Record<string, unknown> }[] = [];
  const at = (level: string) => (message: string, fields: Record<string, unknown>) => {
    lines.push({ level, message, fields });
  };
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}

const ref = { target: 'db_1', source: 'orders', table: 'orders' };
const at = '2026-11-26T03:00:00.000Z';

describe('logRunEvent: the reliability events as Lambda log lines', () => {
  it('logs a retry, a lock wait and a lost snapshot as warnings with their fields', () => {
    const log = sink();
    const events: RunEvent[] = [
      {
        type: 'table-retry',
        at,
        ref,
        attempt: 2,
        attempts: 4,
        delayMs: 250,
        error: { code: 'CONNECTION_LOST', message: 'source: connection lost' },
      },
      {
        type: 'table-waiting',
        at,
        ref,
        seconds: 4,
        holders: [{ pid: 42, user: 'app', application: 'psql', state: 'idle in transaction' }],
      },
      { type: 'snapshot-lost', at, snapshot: '00000003-1', replacement: null },
      {
        type: 'prepared-settled',
        at,
        target: 'db_1',
        committed: ['pgcopy_ab_x7_orders_2'],
        rolledBack: [],
        pending: [],
      },
    ];
    for (const event of events) logRunEvent(log, event);
    expect(log.lines.map((l) => [l.level, l.fields['event']])).toEqual([
      ['warn', 'table-retry'],
      ['warn', 'table-waiting'],
      ['warn', 'snapshot-lost'],
      ['warn', 'prepared-settled'],
    ]);
    expect(log.lines[3]?.message).toBe(
      'Target db_1: prepared transactions left by an earlier run: committed (their table had committed) pgcopy_ab_x7_orders_2',
    );
    expect(log.lines[0]?.fields).toMatchObject({ target: 'db_1', table: 'orders', attempt: 2 });
    expect(log.lines[1]?.fields).toMatchObject({ seconds: 4 });
    expect(log.lines[2]?.fields).toMatchObject({ snapshot: '00000003-1', replacement: null });
    for (const line of log.lines) expect(line.message.length).toBeGreaterThan(0);
  });

  it('keeps no line for progress', () => {
    const log = sink();
    logRunEvent(log, { type: 'table-progress', ref, bytes: 1, seconds: 1 });
    expect(log.lines).toEqual([]);
  });
});
