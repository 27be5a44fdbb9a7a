import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import {
  UNCLASSIFIED_WARNING,
  WARNING_CODES,
  warningCode,
  warningCodesMarkdown,
} from '../../src/report/warning-codes.js';
import { changedPlanWarning } from '../../src/resume/resume-report.js';

/** One warning as pgcopy writes it, for each code (texts copied from src/plan and src/copy). */
const SAMPLES: Readonly<Record<string, string>> = {
  SOURCE_ONLY_COLUMNS: 'source-only columns skipped: "a", "b"',
  TARGET_ONLY_COLUMNS: 'target-only columns left to their defaults: "loaded_at"',
  GENERATED_COLUMNS: 'generated target columns not written: "total"',
  CAST_REFUSED_SAMPLE:
    'column "n": bigint -> integer: the target refuses 2 of 100 sampled source values (out of range); the copy fails if the filtered rows hold such values',
  CAST_MAY_LOSE_DATA:
    'column "price": numeric(12,4) -> numeric(10,2) converted through text; may lose data: scale 4 -> 2',
  CAST: 'column "old" -> "new": integer -> bigint converted through text',
  UPSERT_IDENTITY_ALWAYS:
    'upsert: identity column "id" is GENERATED ALWAYS on the target; existing rows keep theirs',
  SEQUENCE_NOT_INTEGER:
    'sequence public.s of column "code" is not advanced: the column is not an integer, so its values do not say how far',
  SEQUENCE_NOT_ADVANCED:
    'sequence public.s of column "id" not advanced past the copied values: permission denied for sequence s',
  INHERITANCE_CHILDREN_LEFT:
    'inheritance children "c1" of the source table are not in this target\'s tables: their rows are not copied',
  FOREIGN_KEY_CYCLE: 'foreign keys form a cycle through "a", "b": loaded without ordering',
  ROW_SECURITY_APPLIED:
    'rowSecurity: apply: only the rows that row-level security on public.t lets reader see are copied',
  TRUNCATE_GROUP_TRIGGERS:
    'disableTriggers: other tables of its truncate group load with triggers on, so the one TRUNCATE of the group runs with them on and fires its ON TRUNCATE triggers',
  TRIGGERS_DISABLED:
    'disableTriggers: loaded as a replica, so user triggers do not fire and foreign keys are not checked (load order kept)',
  TRIGGERS_FIRE_ANYWAY: 'triggers enabled ALWAYS or REPLICA fire even so: "audit"',
  TRIGGER_WRITES_PLANNED_TABLE:
    'trigger "audit" writes into planned table(s) "log": the plan refuses them while this table loads with the trigger on',
  FDW_PUSH_TRIGGER_SEARCH_PATH:
    "fdw-push: trigger functions without a search_path of their own run in postgres_fdw's session on the target, whose search_path is pg_catalog only: an unqualified name in f() fails there (use stream, dblink or fdw, or give the function its own search_path)",
  ZERO_ROWS: 'zero rows copied',
  INDEXES_KEPT: 'indexes kept during the load: index "t_x" backs a constraint',
  PLAN_CHANGED_SINCE_COMMIT: changedPlanWarning,
};

/** A Markdown table's cells, whatever padding Prettier gives its columns. */
function cells(table: string): string[][] {
  return table
    .trim()
    .split('\n')
    .filter((line) => !/^\|[\s|:-]+\|$/.test(line))
    .map((line) =>
      line
        .split(/(?<!\\)\|/)
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
}

describe('warning codes', () => {
  it('every code is unique and recognises its warning, and only its own', () => {
    expect(new Set(WARNING_CODES).size).toBe(WARNING_CODES.length);
    expect(Object.keys(SAMPLES).sort()).toEqual([...WARNING_CODES].sort());
    for (const [code, text] of Object.entries(SAMPLES))
      expect([code, warningCode(text)]).toEqual([code, code]);
    expect(warningCode('something pgcopy never says')).toBe(UNCLASSIFIED_WARNING);
  });

  it('docs/warnings.md lists every code as src/report/warning-codes.ts has it (a stale page fails here)', async () => {
    const page = await readFile(new URL('../../docs/warnings.md', import.meta.url), 'utf8');
    const table = /<!-- warning-codes:start[^>]*-->\n([\s\S]*?)\n<!-- warning-codes:end -->/.exec(
      page,
    )?.[1];
    expect(cells(table ?? '')).toEqual(cells(warningCodesMarkdown()));
  });
});
