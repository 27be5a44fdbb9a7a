import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { reportFileSchema, reportJsonSchemaText } from '../../src/report/report-schema.js';

describe('pgcopy.report.schema.json (bug: the report had no published schema)', () => {
  it('is what npm run schema writes (a stale file fails here)', () => {
    const onDisk = readFileSync(
      new URL('../../pgcopy.report.schema.json', import.meta.url),
      'utf8',
    );
    expect(onDisk).toBe(reportJsonSchemaText());
  });

  it('refuses a report that is not one: unknown keys, a wrong status, a missing table field', () => {
    const report = {
      startedAt: '2026-11-26T04:00:00.000Z',
      finishedAt: '2026-11-26T04:00:01.000Z',
      status: 'done',
      snapshot: null,
      tables: [],
      error: null,
    };
    expect(reportFileSchema.safeParse(report).success).toBe(true);
    expect(reportFileSchema.safeParse({ ...report, stale: 1 }).success).toBe(false);
    expect(reportFileSchema.safeParse({ ...report, status: 'ok' }).success).toBe(false);
    expect(reportFileSchema.safeParse({ ...report, tables: [{ target: 'db_1' }] }).success).toBe(
      false,
    );
  });
});
