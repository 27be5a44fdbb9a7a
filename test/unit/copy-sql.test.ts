import { describe, expect, it } from 'vitest';
import {
  relationSql,
  truncateSql,
  columnList,
  copyInSql,
  copyOptions,
  copyOutSql,
  createStagingSql,
  targetName,
  repeatedKeySql,
  writeStagedSql,
} from '../../src/copy/sql.js';
import { catalogQualifiedTypeSql } from '../../src/db/type-sql.js';
import type { ColumnPair } from '../../src/plan/types.js';
import { tablePlan } from '../support/table-plan.js';

const planOf = tablePlan;

describe('copy SQL builders', () => {
  it('quotes every identifier, doubling embedded double quotes', () => {
    expect(columnList(['id', 'Mixed Case', 'say "hi"', 'select'])).toBe(
      '"id", "Mixed Case", "say ""hi""", "select"',
    );
    expect(targetName(planOf())).toBe('"tgt""schema"."select"');
  });

  it('refuses an identifier with a NUL character', () => {
    expect(() => columnList(['a\0b'])).toThrow(/NUL/);
  });

  it('names the format explicitly', () => {
    expect(copyOptions('binary')).toBe('(FORMAT binary)');
    expect(copyOptions('text')).toBe('(FORMAT text)');
  });

  it('names a plain table and its columns in COPY TO, and reads through a SELECT with a where filter in parentheses', () => {
    expect(copyOutSql(planOf())).toBe(
      'COPY "Src Schema"."Order Items" ("id", "Mixed Case", "say ""hi""") TO STDOUT WITH (FORMAT binary)',
    );
    expect(copyOutSql(planOf({ where: 'id > 1 OR id < 0 -- a comment', format: 'text' }))).toBe(
      'COPY (SELECT "id", "Mixed Case", "say ""hi""" FROM ONLY "Src Schema"."Order Items" WHERE (id > 1 OR id < 0 -- a comment\n)) TO STDOUT WITH (FORMAT text)',
    );
  });

  it('names the source columns of renamed ones in the order written, and reads every other kind of read through a query', () => {
    const renamed = planOf({ renamed: [{ source: 'ID', target: 'id' }] });
    expect(copyOutSql(renamed)).toBe(
      'COPY "Src Schema"."Order Items" ("ID", "Mixed Case", "say ""hi""") TO STDOUT WITH (FORMAT binary)',
    );
    const query =
      /^COPY \(SELECT .* FROM (ONLY )?"Src Schema"\."Order Items"( WHERE .*)?\) TO STDOUT/s;
    const mask = {
      column: 'id',
      source: 'id',
      rule: 'null',
      from: 'options.dataRules.id',
      sql: 'NULL::int',
    };
    for (const plan of [
      // COPY TO names no partitioned table, view, materialized view or foreign table.
      ...['p', 'v', 'm', 'f'].map((sourceKind) => planOf({ sourceKind })),
      planOf({ where: 'true' }),
      planOf({ rowSecurity: 'apply' }),
      planOf({ masks: [mask] }),
      // COPY refuses to name a generated column.
      planOf({ sourceGenerated: ['Mixed Case'] }),
      // One source column into two target columns: COPY refuses a column named twice.
      planOf({ columns: ['id', 'copy'], renamed: [{ source: 'id', target: 'copy' }] }),
      planOf({ columns: [] }),
    ]) {
      expect(copyOutSql(plan)).toMatch(query);
    }
    expect(copyOutSql(planOf({ sourceGenerated: ['other'] }))).toMatch(/^COPY "Src Schema"/);
  });

  it('names a table with ONLY and a partitioned table whole (inheritance children are other tables)', () => {
    expect(relationSql('s', 't', 'r')).toBe('ONLY "s"."t"');
    expect(relationSql('s', 't', 'f')).toBe('ONLY "s"."t"');
    expect(relationSql('s', 't', 'p')).toBe('"s"."t"');
    expect(relationSql('s', 'v', 'v')).toBe('"s"."v"');
    expect(truncateSql(planOf())).toBe('TRUNCATE TABLE ONLY "tgt""schema"."select"');
    expect(truncateSql(planOf({ targetKind: 'p' }))).toBe('TRUNCATE TABLE "tgt""schema"."select"');
    expect(copyOutSql(planOf({ sourceKind: 'p' }))).toContain('FROM "Src Schema"."Order Items")');
  });

  it('writes rows frozen in truncate mode, into a plain table only', () => {
    const plan = planOf({ mode: 'truncate', format: 'text' });
    expect(copyInSql(plan, targetName(plan))).toMatch(/WITH \(FORMAT text, FREEZE\)$/);
    const parted = planOf({ mode: 'truncate', targetKind: 'p' });
    expect(copyInSql(parted, targetName(parted))).toMatch(/WITH \(FORMAT binary\)$/);
    const append = planOf({ mode: 'append' });
    expect(copyInSql(append, targetName(append))).toMatch(/WITH \(FORMAT binary\)$/);
  });

  it('copies a table without columns with no column list', () => {
    expect(copyInSql(planOf({ columns: [], format: 'text' }), '"s"."t"')).toBe(
      'COPY "s"."t" FROM STDIN WITH (FORMAT text)',
    );
  });

  it('builds COPY FROM with an explicit column list into the given table', () => {
    const plan = planOf({ format: 'text' });
    expect(copyInSql(plan, targetName(plan))).toBe(
      'COPY "tgt""schema"."select" ("id", "Mixed Case", "say ""hi""") FROM STDIN WITH (FORMAT text)',
    );
  });

  it('creates a temporary staging table with the target types and no rows, dropped at commit', () => {
    expect(createStagingSql(planOf())).toBe(
      `CREATE TEMPORARY TABLE pg_temp."pgcopy_staging" ON COMMIT DROP AS SELECT "id", "Mixed Case", "say ""hi""" FROM ONLY "tgt""schema"."select" WITH NO DATA`,
    );
  });

  it('upserts the shared non-key columns on conflict of the key, only where they differ', () => {
    expect(writeStagedSql(planOf({ mode: 'upsert' }), ['id'])).toBe(
      `WITH written AS (INSERT INTO "tgt""schema"."select" AS "pgcopy_existing" ("id", "Mixed Case", "say ""hi""") SELECT "id", "Mixed Case", "say ""hi""" FROM pg_temp."pgcopy_staging" ON CONFLICT ("id") DO UPDATE SET "Mixed Case" = EXCLUDED."Mixed Case", "say ""hi""" = EXCLUDED."say ""hi""" WHERE NOT (ARRAY["pgcopy_existing"."Mixed Case"::pg_catalog.text, "pgcopy_existing"."say ""hi"""::pg_catalog.text]::pg_catalog.text[] OPERATOR(pg_catalog.=) ARRAY[EXCLUDED."Mixed Case"::pg_catalog.text, EXCLUDED."say ""hi"""::pg_catalog.text]::pg_catalog.text[]) RETURNING (xmax OPERATOR(pg_catalog.=) 0) AS inserted) SELECT pg_catalog.count(*) FILTER (WHERE inserted)::pg_catalog.int8::pg_catalog.text AS inserted, pg_catalog.count(*) FILTER (WHERE NOT inserted)::pg_catalog.int8::pg_catalog.text AS updated FROM written`,
    );
  });

  it('finds a key the staged rows repeat, skipping NULL keys unless the key is NULLS NOT DISTINCT', () => {
    const key = ['Mixed Case', 'say "hi"'];
    const repeated = (nulls: string): string =>
      `SET LOCAL enable_hashagg = off; WITH repeated AS (SELECT ARRAY["Mixed Case"::pg_catalog.text, "say ""hi"""::pg_catalog.text] AS key, pg_catalog.count(*) AS copies FROM pg_temp."pgcopy_staging"${nulls} GROUP BY "Mixed Case", "say ""hi""" HAVING pg_catalog.count(*) OPERATOR(pg_catalog.>) 1) SELECT key, copies::pg_catalog.text AS copies, (SELECT pg_catalog.count(*) FROM repeated)::pg_catalog.text AS keys FROM repeated LIMIT 1; RESET enable_hashagg`;
    expect(repeatedKeySql(planOf({ mode: 'insert-new' }), key)).toBe(
      repeated(` WHERE "Mixed Case" IS NOT NULL AND "say ""hi""" IS NOT NULL`),
    );
    expect(repeatedKeySql(planOf({ mode: 'upsert', conflictNullsEqual: true }), key)).toBe(
      repeated(''),
    );
  });

  it('insert-new does nothing on conflict of the key', () => {
    expect(writeStagedSql(planOf({ mode: 'insert-new' }), ['id'])).toBe(
      `WITH written AS (INSERT INTO "tgt""schema"."select" AS "pgcopy_existing" ("id", "Mixed Case", "say ""hi""") SELECT "id", "Mixed Case", "say ""hi""" FROM pg_temp."pgcopy_staging" ON CONFLICT ("id") DO NOTHING RETURNING (xmax OPERATOR(pg_catalog.=) 0) AS inserted) SELECT pg_catalog.count(*) FILTER (WHERE inserted)::pg_catalog.int8::pg_catalog.text AS inserted, pg_catalog.count(*) FILTER (WHERE NOT inserted)::pg_catalog.int8::pg_catalog.text AS updated FROM written`,
    );
  });

  it('does nothing on conflict when only key columns are copied', () => {
    const plan = planOf({ mode: 'upsert', columns: ['id', 'Mixed Case'] });
    expect(writeStagedSql(plan, ['Mixed Case', 'id'])).toBe(
      `WITH written AS (INSERT INTO "tgt""schema"."select" AS "pgcopy_existing" ("id", "Mixed Case") SELECT "id", "Mixed Case" FROM pg_temp."pgcopy_staging" ON CONFLICT ("Mixed Case", "id") DO NOTHING RETURNING (xmax OPERATOR(pg_catalog.=) 0) AS inserted) SELECT pg_catalog.count(*) FILTER (WHERE inserted)::pg_catalog.int8::pg_catalog.text AS inserted, pg_catalog.count(*) FILTER (WHERE NOT inserted)::pg_catalog.int8::pg_catalog.text AS updated FROM written`,
    );
  });

  it('never updates a GENERATED ALWAYS identity column that is not the key (PostgreSQL refuses it)', () => {
    const plan = planOf({
      mode: 'upsert',
      columns: ['code', 'id', 'v'],
      overridingSystemValue: true,
      identityAlways: ['id'],
    });
    expect(writeStagedSql(plan, ['code'])).toBe(
      `WITH written AS (INSERT INTO "tgt""schema"."select" AS "pgcopy_existing" ("code", "id", "v") OVERRIDING SYSTEM VALUE SELECT "code", "id", "v" FROM pg_temp."pgcopy_staging" ON CONFLICT ("code") DO UPDATE SET "v" = EXCLUDED."v" WHERE NOT (ARRAY["pgcopy_existing"."v"::pg_catalog.text]::pg_catalog.text[] OPERATOR(pg_catalog.=) ARRAY[EXCLUDED."v"::pg_catalog.text]::pg_catalog.text[]) RETURNING (xmax OPERATOR(pg_catalog.=) 0) AS inserted) SELECT pg_catalog.count(*) FILTER (WHERE inserted)::pg_catalog.int8::pg_catalog.text AS inserted, pg_catalog.count(*) FILTER (WHERE NOT inserted)::pg_catalog.int8::pg_catalog.text AS updated FROM written`,
    );
    const onlyIdentity = planOf({
      mode: 'upsert',
      columns: ['code', 'id'],
      identityAlways: ['id'],
    });
    expect(writeStagedSql(onlyIdentity, ['code'])).toMatch(
      /ON CONFLICT \("code"\) DO NOTHING RETURNING/,
    );
  });

  it('writes identity GENERATED ALWAYS columns with OVERRIDING SYSTEM VALUE', () => {
    const plan = planOf({ mode: 'upsert', columns: ['id', 'v'], overridingSystemValue: true });
    expect(writeStagedSql(plan, ['id'])).toBe(
      `WITH written AS (INSERT INTO "tgt""schema"."select" AS "pgcopy_existing" ("id", "v") OVERRIDING SYSTEM VALUE SELECT "id", "v" FROM pg_temp."pgcopy_staging" ON CONFLICT ("id") DO UPDATE SET "v" = EXCLUDED."v" WHERE NOT (ARRAY["pgcopy_existing"."v"::pg_catalog.text]::pg_catalog.text[] OPERATOR(pg_catalog.=) ARRAY[EXCLUDED."v"::pg_catalog.text]::pg_catalog.text[]) RETURNING (xmax OPERATOR(pg_catalog.=) 0) AS inserted) SELECT pg_catalog.count(*) FILTER (WHERE inserted)::pg_catalog.int8::pg_catalog.text AS inserted, pg_catalog.count(*) FILTER (WHERE NOT inserted)::pg_catalog.int8::pg_catalog.text AS updated FROM written`,
    );
  });

  it("names pg_catalog's types, operators and functions with their schema: a user's search_path cannot turn them", () => {
    expect(
      ['text', 'jsonb[]', '"char"', 'bpchar', 'numeric(10,2)', 'character varying(5)'].map(
        catalogQualifiedTypeSql,
      ),
    ).toEqual([
      'pg_catalog.text',
      'pg_catalog.jsonb[]',
      'pg_catalog."char"',
      'pg_catalog.bpchar',
      'numeric(10,2)',
      'character varying(5)',
    ]);
    expect(
      ['timestamp(3) with time zone', 'double precision', 'public.citext', '"My S"."T"[]'].map(
        catalogQualifiedTypeSql,
      ),
    ).toEqual(['timestamp(3) with time zone', 'double precision', 'public.citext', '"My S"."T"[]']);
    // A partitioned target counts the keys it holds with an operator named by its schema.
    const pair = (name: string, type: string, targetTypeSql: string): ColumnPair => ({
      name,
      sourceType: type,
      targetType: type,
      targetTypeSql,
      conversion: 'same',
    });
    const partitioned = planOf({
      mode: 'insert-new',
      targetKind: 'p',
      columns: ['id', 'code'],
      pairs: [pair('id', 'integer', 'integer'), pair('code', 'citext', 'public.citext')],
    });
    const written = writeStagedSql(partitioned, ['id', 'code']);
    expect(written).toContain(
      '"pgcopy_existing"."id" OPERATOR(pg_catalog.=) staged."id" AND (ARRAY["pgcopy_existing"."code"] OPERATOR(pg_catalog.=) ARRAY[staged."code"] AND staged."code" IS NOT NULL)',
    );
    expect(written.replaceAll(/OPERATOR\(pg_catalog\.[=-]\)/g, '')).not.toMatch(/ [=-] /);
  });
});
