import { describe, expect, it } from 'vitest';
import {
  functionsCalled,
  runsDynamicSql,
  tablesNamedInLiterals,
  tablesWritten,
} from '../../src/db/trigger-source.js';

const NAMES = ['artist', 'artist_meta', 'Tag Map', 'tag'];
const writes = (src: string) => tablesWritten(src, 'mb', NAMES);

describe('tablesWritten: the planned tables a trigger function writes into by its own statements', () => {
  it('reads INSERT INTO, UPDATE, DELETE FROM, MERGE INTO and TRUNCATE, with ONLY', () => {
    expect(writes('BEGIN INSERT INTO artist_meta (id) VALUES (NEW.id); RETURN NULL; END')).toEqual([
      { table: 'artist_meta', statements: ['INSERT'] },
    ]);
    expect(
      writes(`UPDATE ONLY tag SET n = n + 1; DELETE FROM ONLY artist_meta WHERE id = 1;
              MERGE INTO artist USING x ON true WHEN MATCHED THEN DELETE;
              TRUNCATE TABLE ONLY tag, ONLY artist_meta`),
    ).toEqual([
      { table: 'artist', statements: ['MERGE'] },
      { table: 'artist_meta', statements: ['DELETE', 'TRUNCATE'] },
      { table: 'tag', statements: ['UPDATE', 'TRUNCATE'] },
    ]);
  });

  it('resolves schema-qualified and quoted names: folds unquoted case, keeps quoted', () => {
    expect(writes('INSERT INTO mb.Artist_Meta VALUES (1)')).toEqual([
      { table: 'artist_meta', statements: ['INSERT'] },
    ]);
    expect(writes('DELETE FROM "mb"."Tag Map" WHERE true')).toEqual([
      { table: 'Tag Map', statements: ['DELETE'] },
    ]);
    expect(
      writes('INSERT INTO other.artist_meta VALUES (1); INSERT INTO "Artist" VALUES (1)'),
    ).toEqual([]);
  });

  it('leaves out comments, string literals, SELECTs, locking and ON CONFLICT clauses', () => {
    expect(
      writes(`-- INSERT INTO artist_meta
              /* UPDATE tag /* nested */ DELETE FROM tag */
              RAISE NOTICE 'INSERT INTO artist_meta';
              x := E'it\\'s DELETE FROM tag';
              y := $q$TRUNCATE tag$q$;
              SELECT * FROM artist_meta FOR UPDATE;
              SELECT * FROM tag FOR NO KEY UPDATE;
              PERFORM 1 FROM artist WHERE TG_OP = 'UPDATE';
              INSERT INTO history VALUES (1) ON CONFLICT (id) DO UPDATE SET n = 1`),
    ).toEqual([]);
  });

  it('says when the source runs dynamic SQL', () => {
    expect(runsDynamicSql(`EXECUTE format('INSERT INTO %I VALUES (1)', t)`)).toBe(true);
    expect(runsDynamicSql(`RAISE NOTICE 'EXECUTE'; -- EXECUTE`)).toBe(false);
  });

  it('names the functions the source calls, schema-qualified or not, outside comments and strings', () => {
    expect(
      functionsCalled(`PERFORM bump(1); x := mb.Fill_Meta(NEW.id); -- skip(1)
                       RAISE NOTICE 'no(1)'; y := "Quoted"(2);`),
    ).toEqual([{ name: 'bump' }, { schema: 'mb', name: 'fill_meta' }, { name: 'Quoted' }]);
  });
});

describe('tablesNamedInLiterals: a planned table handed to dynamic SQL by name', () => {
  it("takes a string literal that is a planned table's whole name, qualified by its schema or not", () => {
    const src = `PERFORM inc_ref_count('artist_credit', NEW.artist_credit, 1);
      PERFORM touch('app.medium'); PERFORM touch('other.tag'); PERFORM note('artist credit');
      EXECUTE 'UPDATE ' || tbl || ' SET ref_count = ref_count + 1';`;
    expect(tablesNamedInLiterals(src, 'app', ['artist_credit', 'medium', 'tag'])).toEqual([
      { table: 'artist_credit', statements: ['EXECUTE'] },
      { table: 'medium', statements: ['EXECUTE'] },
    ]);
    expect(tablesNamedInLiterals(src, 'app', ['recording'])).toEqual([]);
  });
});
