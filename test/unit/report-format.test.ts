import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ProgressRenderer } from '../../src/cli/progress.js';
import { describeValue } from '../../src/config/describe-value.js';
import { qualifiedName, quoteIdent, quoteLiteral } from '../../src/db/quote.js';
import { auditLine } from '../../src/report/audit-lines.js';
import type { RunReport, TableResult } from '../../src/report/events.js';
import {
  fileStamp,
  formatCount,
  formatDuration,
  formatRate,
  lineStamp,
} from '../../src/report/format.js';
import { renderSummary } from '../../src/report/summary.js';
import { textTable } from '../../src/report/text-table.js';

const result: TableResult = {
  target: 'db_1',
  source: 'customer',
  table: 'customers',
  status: 'error',
  rows: 0,
  bytes: 2_500_000,
  seconds: 2,
  strategy: 'stream',
  format: 'text',
  mode: 'append',
  columns: ['id'],
  skipped: { sourceOnly: [], targetOnly: [] },
  warnings: [],
  error: { code: 'POSTGRES', message: 'boom', sqlstate: '23505' },
};

describe('figures', () => {
  it('formats durations, rates and timestamps', () => {
    expect(formatDuration(5)).toBe('0:05');
    expect(formatDuration(3725)).toBe('1:02:05');
    expect(formatDuration(Number.NaN)).toBe('-');
    expect(formatDuration(-1)).toBe('-');
    expect(formatRate(10_000_000, 0)).toBe('-');
    expect(formatRate(10_000_000, 4)).toBe('2.5');
    const date = new Date(2026, 0, 2, 3, 4, 5);
    expect(fileStamp(date)).toBe('20260102_030405');
    expect(lineStamp(date)).toBe('2026-01-02 03:04:05');
  });

  it('aligns text tables, numbers to the right', () => {
    expect(
      textTable(
        ['NAME', 'ROWS'],
        [
          ['a', '5'],
          ['long name', '1,000'],
        ],
      ),
    ).toBe('NAME        ROWS\na              5\nlong name  1,000\n');
    expect(textTable(['EMPTY'], [])).toBe('EMPTY\n');
  });

  it('describes received values without echoing whole objects', () => {
    expect(describeValue(undefined)).toBe('nothing');
    expect(describeValue(null)).toBe('null');
    expect(describeValue(true)).toBe('true');
    expect(describeValue({ a: 1 })).toBe('an object');
    expect(describeValue('x'.repeat(100))).toBe(JSON.stringify('x'.repeat(57) + '...'));
    expect(describeValue(() => 1)).toBe('function');
  });

  it('quotes identifiers and literals, refusing NUL', () => {
    expect(quoteIdent('Order "Items"')).toBe('"Order ""Items"""');
    expect(qualifiedName('s', 'select')).toBe('"s"."select"');
    expect(quoteLiteral("it's")).toBe("'it''s'");
    expect(() => quoteIdent('a\0b')).toThrow('identifier contains a NUL character');
    expect(() => quoteLiteral('a\0b')).toThrow('literal contains a NUL character');
  });
});

describe('summary and audit lines', () => {
  it('renders a renamed table, errors with SQLSTATE and the totals', () => {
    const report: RunReport = {
      startedAt: '2026-01-01T00:00:00.000Z',
      finishedAt: '2026-01-01T00:00:03.000Z',
      status: 'error',
      snapshot: null,
      tables: [
        result,
        { ...result, table: 'other', source: 'other', status: 'done', rows: 1234, error: null },
      ],
    };
    const text = renderSummary(report);
    expect(text).toContain('customer -> customers  error');
    expect(text).toContain('2 table(s), 1,234 rows, 5.0 MB in 3.0 s: error');
    expect(text).toContain('  ❌ db_1.customers: [23505] boom');
    expect(
      auditLine({
        type: 'table-failed',
        at: '',
        result: { ...result, error: { code: 'COPY', message: 'x' } },
      }),
    ).toBe('❌ Error copying db_1.customers rows=0 bytes=2500000 (2.5 MB) seconds=2.000 error: x');
    const rebuilt = { ...result, status: 'done' as const, rows: 5, error: null };
    const indexes = { rebuilt: ['a_idx', 'b_idx'], seconds: 1.25 };
    expect(renderSummary({ ...report, tables: [{ ...rebuilt, indexes }] })).toContain(
      '  db_1.customers: 2 index(es) rebuilt in 1.3 s\n',
    );
    expect(auditLine({ type: 'table-done', at: '', result: { ...rebuilt, indexes } })).toContain(
      'seconds=2.000 indexes rebuilt=a_idx,b_idx in 1.250s',
    );
    expect(
      auditLine({
        type: 'run-start',
        at: '',
        runId: 'r1',
        snapshot: null,
        pairs: 2,
        estimatedBytes: 0,
      }),
    ).toBe('Run r1 started: 2 table(s), snapshot none');
    expect(
      auditLine({ type: 'table-progress', ref: result, bytes: 1, seconds: 1 }),
    ).toBeUndefined();
  });
});

function ttyProgress(): { progress: ProgressRenderer; text: () => string } {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  return { progress: new ProgressRenderer(out, true), text: () => text };
}

describe('progress on a TTY', () => {
  it('draws a line per running table with rows, rate and ETA, and an overall bar', () => {
    const { progress, text } = ttyProgress();
    const ref = { target: 'db_1', source: 't', table: 't' };
    progress.onEvent({
      type: 'run-start',
      at: '',
      runId: 'r1',
      snapshot: 's',
      pairs: 2,
      estimatedBytes: 0,
    });
    progress.onEvent({
      type: 'table-start',
      at: '',
      ref,
      format: 'binary',
      mode: 'append',
      estimatedRows: 1000,
      estimatedBytes: 0,
    });
    progress.onEvent({ type: 'table-progress', ref, bytes: 5_000_000, seconds: 1 });
    progress.onEvent({
      type: 'table-done',
      at: '',
      result: { ...result, ...ref, status: 'done', error: null },
    });
    progress.onEvent({
      type: 'table-progress',
      ref: { ...ref, table: 'unknown' },
      bytes: 1,
      seconds: 1,
    });
    (progress as unknown as { draw(): void }).draw();
    progress.onEvent({
      type: 'run-end',
      report: { startedAt: '', finishedAt: '', status: 'done', snapshot: null, tables: [] },
    });
    expect(text()).toContain('✅ Done: db_1.t');
    expect(text()).toMatch(/\[#{15}\.{15}\] 50%\s+1\/2 tables/);
    progress.stop();
  });

  it('shows progress and ETA on bytes against the estimate, and neither without one', () => {
    const { progress, text } = ttyProgress();
    const ref = { target: 'db_1', source: 't', table: 't' };
    const unsized = { ...ref, table: 'unsized' };
    progress.onEvent({
      type: 'run-start',
      at: '',
      runId: 'r1',
      snapshot: 's',
      pairs: 2,
      estimatedBytes: 0,
    });
    for (const [r, estimatedBytes] of [
      [ref, 20_000_000],
      [unsized, 0],
    ] as const) {
      progress.onEvent({
        type: 'table-start',
        at: '',
        ref: r,
        format: 'binary',
        mode: 'append',
        estimatedRows: 1000,
        estimatedBytes,
      });
      progress.onEvent({ type: 'table-progress', ref: r, bytes: 5_000_000, seconds: 1 });
    }
    (progress as unknown as { draw(): void }).draw();
    progress.stop();
    expect(text()).toContain('db_1.t  ~25%  5.0 MB  5.0 MB/s  ETA 0:03');
    expect(text()).toContain('db_1.unsized  5.0 MB  5.0 MB/s  ETA -');
  });

  it('prints the prepared parts an earlier run left and what became of them', () => {
    const { progress, text } = ttyProgress();
    progress.onEvent({
      type: 'prepared-settled',
      at: '',
      target: 'db_1',
      committed: [],
      rolledBack: ['pgcopy_ab_x7_t_2'],
      pending: [],
    });
    expect(text()).toContain(
      'Target db_1: prepared transactions left by an earlier run: rolled back (their table had failed) pgcopy_ab_x7_t_2',
    );
    progress.stop();
  });

  it('caps progress below 100% while a table runs past its estimate', () => {
    const { progress, text } = ttyProgress();
    const ref = { target: 'db_1', source: 't', table: 't' };
    progress.onEvent({
      type: 'run-start',
      at: '',
      runId: 'r1',
      snapshot: 's',
      pairs: 1,
      estimatedBytes: 0,
    });
    progress.onEvent({
      type: 'table-start',
      at: '',
      ref,
      format: 'binary',
      mode: 'append',
      estimatedRows: 1000,
      estimatedBytes: 1_000_000,
    });
    progress.onEvent({ type: 'table-progress', ref, bytes: 5_000_000, seconds: 1 });
    (progress as unknown as { draw(): void }).draw();
    progress.stop();
    expect(text()).toContain('db_1.t  ~99%  5.0 MB  5.0 MB/s  ETA -');
  });
});

describe('formatCount', () => {
  it('groups thousands as en-US does, rounding first, for every sign and size', () => {
    const cases = [0, 7, 999, 1000, 12_345.6, -1_234_567, 999_999.5, Number.MAX_SAFE_INTEGER, 1e21];
    for (const n of cases) expect(formatCount(n)).toBe(Math.round(n).toLocaleString('en-US'));
    expect(formatCount(NaN)).toBe('NaN');
    // Where toLocaleString says -0.
    expect(formatCount(-0.4)).toBe('0');
  });
});
