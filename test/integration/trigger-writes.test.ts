import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, workDir } from '../support/cli.js';
import { endpointOf } from '../support/config.js';
import { servers, sql, tableDigest, uniqueName } from '../support/db.js';

/**
 * MusicBrainz's a_ins_artist fills artist_meta for each artist inserted; a run that copies both
 * tables then meets duplicate keys in artist_meta. Other triggers double rows of a table without
 * a key, or update or delete rows already copied. The plan reads which planned tables a firing
 * trigger's function writes into, and refuses them.
 */
const s = servers();
const schema = uniqueName('TriggerWrites');
const q = `"${schema}"`;
const cleanups: (() => Promise<void>)[] = [];

const DDL = `
  CREATE SCHEMA ${q};
  CREATE TABLE ${q}.artist (id int PRIMARY KEY, name text);
  CREATE TABLE ${q}.artist_meta (id int PRIMARY KEY REFERENCES ${q}.artist, rating int);
  CREATE TABLE ${q}.label (id int PRIMARY KEY, name text);
  CREATE TABLE ${q}.tag (id int PRIMARY KEY, name text);
  CREATE TABLE ${q}.tag_use (tag int REFERENCES ${q}.tag, label int);
  CREATE TABLE ${q}."Link Type" (id int PRIMARY KEY, n int NOT NULL DEFAULT 0);
  CREATE TABLE ${q}.event (id int PRIMARY KEY);
  -- No key: rows a trigger adds here would be doubled, not refused by PostgreSQL.
  CREATE TABLE ${q}.tally (event int);
  CREATE TABLE ${q}.note (id int PRIMARY KEY, body text);
  CREATE TABLE ${q}.untouched (id int PRIMARY KEY);
  CREATE TABLE ${q}.medium (id int PRIMARY KEY);
  CREATE TABLE ${q}.medium_count (n int);`;

const ROWS = `
  INSERT INTO ${q}.artist SELECT g, 'a' || g FROM generate_series(1, 3) g;
  INSERT INTO ${q}.artist_meta SELECT g, g * 10 FROM generate_series(1, 3) g;
  INSERT INTO ${q}.label SELECT g, 'l' || g FROM generate_series(1, 3) g;
  INSERT INTO ${q}.tag SELECT g, 't' || g FROM generate_series(1, 3) g;
  INSERT INTO ${q}.tag_use VALUES (1, 1), (2, 2);
  INSERT INTO ${q}."Link Type" SELECT g, g FROM generate_series(1, 2) g;
  INSERT INTO ${q}.event SELECT g FROM generate_series(1, 3) g;
  INSERT INTO ${q}.tally SELECT g FROM generate_series(1, 3) g;
  INSERT INTO ${q}.note SELECT g, 'n' || g FROM generate_series(1, 2) g;
  INSERT INTO ${q}.untouched SELECT g FROM generate_series(1, 2) g;
  INSERT INTO ${q}.medium SELECT g FROM generate_series(1, 2) g;
  INSERT INTO ${q}.medium_count VALUES (2);`;

const fn = (name: string, body: string) => `
  CREATE FUNCTION ${q}.${name}() RETURNS trigger LANGUAGE plpgsql SET search_path = ${q} AS $$
    BEGIN ${body} RETURN NULL; END $$;`;

const TRIGGERS = `
  CREATE TABLE ${q}.history (id int); -- on the target only: not planned
  ${fn('a_ins_artist', 'INSERT INTO artist_meta (id) VALUES (NEW.id);')}
  CREATE TRIGGER a_ins_artist AFTER INSERT ON ${q}.artist
    FOR EACH ROW EXECUTE FUNCTION ${q}.a_ins_artist();
  ${fn('label_touch', `UPDATE ONLY ${q}."Link Type" SET n = n + 1; DELETE FROM ONLY "${schema}".tag WHERE id = NEW.id + 1000;`)}
  CREATE TRIGGER label_touch AFTER INSERT ON ${q}.label
    FOR EACH ROW EXECUTE FUNCTION ${q}.label_touch();
  ${fn('count_event', 'TRUNCATE TABLE ONLY tally;')}
  CREATE TRIGGER count_event AFTER INSERT ON ${q}.event
    FOR EACH STATEMENT EXECUTE FUNCTION ${q}.count_event();
  ALTER TABLE ${q}.event ENABLE ALWAYS TRIGGER count_event;
  ${fn(
    'note_log',
    `-- INSERT INTO untouched (a comment)
     PERFORM 1 FROM untouched WHERE id = NEW.id;
     RAISE NOTICE 'DELETE FROM untouched';
     INSERT INTO history VALUES (NEW.id);`,
  )}
  CREATE TRIGGER note_log AFTER INSERT ON ${q}.note FOR EACH ROW EXECUTE FUNCTION ${q}.note_log();
  -- Writes into its own table (as MusicBrainz's delete_unused_tag): a warning, not a refusal.
  ${fn('delete_unused_tag', `DELETE FROM tag WHERE id = NEW.id AND NOT EXISTS (SELECT 1 FROM tag_use WHERE tag_use.tag = NEW.id);`)}
  CREATE CONSTRAINT TRIGGER delete_unused_tag AFTER INSERT ON ${q}.tag DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ${q}.delete_unused_tag();
  -- Writes through a function it calls (as MusicBrainz's triggers call helpers).
  CREATE FUNCTION ${q}.bump_count(by int) RETURNS void LANGUAGE plpgsql AS $$
    BEGIN UPDATE ${q}.medium_count SET n = n + by; END $$;
  ${fn('medium_added', 'PERFORM bump_count(1);')}
  CREATE TRIGGER medium_added AFTER INSERT ON ${q}.medium
    FOR EACH ROW EXECUTE FUNCTION ${q}.medium_added();
  -- Fires in upsert mode only (an UPDATE of a copied row).
  ${fn('note_upd', 'DELETE FROM untouched WHERE id = NEW.id + 1000;')}
  CREATE TRIGGER note_upd AFTER UPDATE ON ${q}.note FOR EACH ROW EXECUTE FUNCTION ${q}.note_upd();
  ${fn('dyn', `EXECUTE 'SELECT 1';`)}
  CREATE TRIGGER dyn AFTER INSERT ON ${q}.untouched FOR EACH ROW EXECUTE FUNCTION ${q}.dyn();`;

const ALL = [
  'artist',
  'artist_meta',
  'label',
  'tag',
  'tag_use',
  'Link Type',
  'event',
  'tally',
  'note',
  'untouched',
  'medium',
  'medium_count',
];

interface TableJson {
  target: string;
  triggers: {
    name: string;
    namedInSource?: string[];
    writesTo?: { table: string; statements: string[] }[];
    dynamicSql?: boolean;
  }[];
  warnings: string[];
  notes: string[];
  errors: string[];
}

type Mode = 'append' | 'truncate' | 'upsert';

async function config(mode: Mode, target: Record<string, unknown>, tables: unknown[] = ALL) {
  const w = await workDir({
    source: endpointOf(s.source, schema),
    targets: [{ name: 'db_1', ...endpointOf(s.target1, schema), tables, ...target }],
    options: { logDir: 'logs', mode },
  });
  cleanups.push(w.cleanup);
  return w;
}

async function plan(mode: Mode, target: Record<string, unknown> = {}, tables: unknown[] = ALL) {
  const w = await config(mode, target, tables);
  const result = await cli(['plan', '--json', '-c', w.file], { cwd: w.dir });
  expect(result.stderr).toBe('');
  const json = JSON.parse(result.stdout) as { targets: { tables: TableJson[] }[] };
  return new Map((json.targets[0]?.tables ?? []).map((t) => [t.target, t]));
}

const refused = (tables: Map<string, TableJson>): string[] =>
  [...tables.values()].filter((t) => t.errors.length > 0).map((t) => t.target);

const why = (trigger: string, table: string, statements: string) =>
  `trigger "${trigger}" on planned table "${table}" writes into this table (${statements}): copying both with triggers on would add or change its rows; set disableTriggers on the target (or for "${table}"), or leave one of the two out`;

const writer = (trigger: string, tables: readonly string[]) =>
  `its trigger "${trigger}" writes into planned table(s) ${tables.map((t) => `"${t}"`).join(', ')} as it loads: those cannot come out equal to their source while this table loads with triggers on, and this one would write rows the copy does not account for; set disableTriggers on the target (or for this table), or leave the tables it writes out of the run`;

/** Every table refused in append mode: those written into, their writers, and tag_use (tag's child). */
const WITH_WRITERS = [
  'artist',
  'artist_meta',
  'label',
  'tag',
  'tag_use',
  'Link Type',
  'event',
  'tally',
  'medium',
  'medium_count',
];

beforeAll(async () => {
  await sql(s.source, `${DDL}${ROWS}`);
  await sql(s.target1, `${DDL}${TRIGGERS}`);
});

afterAll(async () => {
  for (const c of cleanups) await c();
  for (const server of [s.source, s.target1]) await sql(server, `DROP SCHEMA ${q} CASCADE`);
});

describe('bug: a trigger writing into another planned table doubled, deleted or collided with copied rows', () => {
  it('refuses each planned table a firing trigger writes into (INSERT, UPDATE, DELETE, TRUNCATE; unqualified, qualified, quoted), naming the trigger', async () => {
    const tables = await plan('append');
    // tag_use: its parent tag is refused (tag's own trigger writes into it, below).
    // The writers too (artist, label, event, medium), and tag_use, whose parent tag is refused.
    expect(refused(tables)).toEqual(WITH_WRITERS);
    expect(tables.get('artist_meta')?.errors).toEqual([why('a_ins_artist', 'artist', 'INSERT')]);
    expect(tables.get('tag')?.errors).toEqual([
      why('label_touch', 'label', 'DELETE'),
      `trigger "delete_unused_tag" on this table writes into this table itself (DELETE): loading it with triggers on would add, change or delete rows as they load, so it cannot come out equal to its source; set disableTriggers for it, or leave it out`,
    ]);
    expect(tables.get('Link Type')?.errors).toEqual([why('label_touch', 'label', 'UPDATE')]);
    expect(tables.get('tally')?.errors).toEqual([why('count_event', 'event', 'TRUNCATE')]);
    expect(tables.get('label')?.triggers.map((t) => [t.name, t.writesTo])).toEqual([
      [
        'label_touch',
        [
          { table: 'Link Type', statements: ['UPDATE'] },
          { table: 'tag', statements: ['DELETE'] },
        ],
      ],
    ]);
    expect(tables.get('artist')?.warnings).toContain(
      `trigger "a_ins_artist" (${q}.a_ins_artist()) writes into planned table(s) "artist_meta" (INSERT): the plan refuses them while this table loads with the trigger on`,
    );
  });

  it('bug: a trigger writing into its own table emptied it as it loaded (delete_unused_tag): that table is refused, and its children with it', async () => {
    const tables = await plan('append', {}, ['tag', 'tag_use']);
    expect(refused(tables)).toEqual(['tag', 'tag_use']);
    expect(tables.get('tag')?.errors).toEqual([
      `trigger "delete_unused_tag" on this table writes into this table itself (DELETE): loading it with triggers on would add, change or delete rows as they load, so it cannot come out equal to its source; set disableTriggers for it, or leave it out`,
    ]);
    expect(tables.get('tag_use')?.errors).toEqual([
      `not loaded: its parent table "tag" is refused in this plan, so its rows would point at parent rows this run does not copy (they would fail its foreign key, or match other rows the target holds); copy "tag" too, or leave this table out`,
    ]);
    const all = await plan('append');
    expect(all.get('tag')?.notes).toContain(
      `trigger "delete_unused_tag" (${q}.delete_unused_tag()) may use planned table(s) "tag_use" (its source names them, not as the table of an INSERT, UPDATE, DELETE, MERGE or TRUNCATE)`,
    );
  });

  it('the plan text says the same', async () => {
    const w = await config('append', {});
    const result = await cli(['plan', '-c', w.file], { cwd: w.dir });
    expect(result.stdout).toContain(`✖ artist_meta: ${why('a_ins_artist', 'artist', 'INSERT')}`);
    expect(result.stdout).toContain(`✖ Link Type: ${why('label_touch', 'label', 'UPDATE')}`);
  });

  it('reads the PL/pgSQL functions a trigger function calls: a write there counts', async () => {
    const tables = await plan('append');
    expect(tables.get('medium_count')?.errors).toEqual([why('medium_added', 'medium', 'UPDATE')]);
  });

  it('a name only in a comment, a string or a SELECT is a "may use" note; a table not planned and dynamic SQL are not refused', async () => {
    const tables = await plan('append');
    const note = tables.get('note');
    expect(note?.triggers.map((t) => [t.name, t.namedInSource, t.writesTo])).toEqual([
      ['note_log', ['untouched'], []],
    ]);
    expect(note?.notes).toContain(
      `trigger "note_log" (${q}.note_log()) may use planned table(s) "untouched" (its source names them, not as the table of an INSERT, UPDATE, DELETE, MERGE or TRUNCATE)`,
    );
    expect(tables.get('untouched')?.errors).toEqual([]);
    expect(tables.get('untouched')?.triggers[0]?.dynamicSql).toBe(true);
    expect(tables.get('untouched')?.notes).toContain(
      `cannot know which tables trigger "dyn" (${q}.dyn()), which runs dynamic SQL (EXECUTE) write(s) to: pgcopy reads the tables of PL/pgSQL statements only (the catalog records no tables for a trigger function)`,
    );
  });

  it('disableTriggers: a trigger that does not fire refuses nothing; ENABLE ALWAYS still does', async () => {
    const tables = await plan('append', { disableTriggers: true });
    expect(refused(tables)).toEqual(['event', 'tally']);
    expect(tables.get('tally')?.errors).toEqual([why('count_event', 'event', 'TRUNCATE')]);
    expect(tables.get('event')?.errors).toEqual([writer('count_event', ['tally'])]);
  });

  it('disableTriggers on the writing table only; a child loaded with foreign-key checks off under a refused parent is refused too', async () => {
    const tables = await plan('append', {}, [
      { name: 'artist', disableTriggers: true },
      'artist_meta',
      'label',
      'tag',
      { name: 'tag_use', disableTriggers: true },
    ]);
    expect(refused(tables)).toEqual(['label', 'tag', 'tag_use']);
    expect(tables.get('tag_use')?.errors).toEqual([
      'not loaded: its parent table "tag" was not copied, and disableTriggers (foreign-key checks off) would leave orphan rows',
    ]);
  });

  it('truncate: the writer is refused with the table it writes into (which also keeps it from being truncated alone)', async () => {
    const tables = await plan('truncate');
    expect(tables.get('artist_meta')?.errors).toEqual([why('a_ins_artist', 'artist', 'INSERT')]);
    expect(tables.get('artist')?.errors).toEqual([writer('a_ins_artist', ['artist_meta'])]);
  });

  it('upsert: a trigger that fires on UPDATE only refuses the table it writes into in upsert mode, not in append', async () => {
    expect((await plan('append')).get('untouched')?.errors).toEqual([]);
    expect((await plan('upsert')).get('untouched')?.errors).toEqual([
      why('note_upd', 'note', 'DELETE'),
    ]);
  });

  it('per target: the same tables on a target without the triggers are not refused', async () => {
    await sql(s.target2, DDL);
    cleanups.push(async () => {
      await sql(s.target2, `DROP SCHEMA ${q} CASCADE`);
    });
    const w = await workDir({
      source: endpointOf(s.source, schema),
      targets: [
        { name: 'db_1', ...endpointOf(s.target1, schema), tables: ALL },
        { name: 'db_2', ...endpointOf(s.target2, schema), tables: ALL },
      ],
      options: { logDir: 'logs', mode: 'append' },
    });
    cleanups.push(w.cleanup);
    const result = await cli(['plan', '--json', '-c', w.file], { cwd: w.dir });
    const json = JSON.parse(result.stdout) as { targets: { tables: TableJson[] }[] };
    const refusedOn = (i: number) =>
      (json.targets[i]?.tables ?? []).filter((t) => t.errors.length > 0).map((t) => t.target);
    expect(refusedOn(0)).toEqual(WITH_WRITERS);
    expect(refusedOn(1)).toEqual([]);
  });

  // In this order: append first, onto the empty target tables.
  it.each([
    ['append', WITH_WRITERS.filter((t) => t !== 'tag_use')],
    ['truncate', WITH_WRITERS.filter((t) => t !== 'tag_use')],
    [
      'upsert',
      [
        'artist',
        'artist_meta',
        'label',
        'tag',
        'Link Type',
        'event',
        'tally',
        'note',
        'untouched',
        'medium',
        'medium_count',
      ],
    ],
  ] as const)(
    'a run in %s mode: the tables written into are refused, every other table copies exactly',
    async (mode, expected) => {
      const tables = ALL.filter((t) => t !== 'tag_use'); // its parent tag is refused
      const w = await config(mode, {}, tables);
      const result = await cli(['run', '-c', w.file], { cwd: w.dir });
      const planned = await plan(mode, {}, tables);
      const wrong: string[] = [];
      for (const table of tables) {
        if ((planned.get(table)?.errors.length ?? 0) > 0) continue;
        const query = `SELECT * FROM ${q}."${table}"`;
        const [source, target] = await Promise.all([
          tableDigest(s.source, query),
          tableDigest(s.target1, query),
        ]);
        if (source.md5 !== target.md5 || source.count === 0) wrong.push(table);
      }
      expect(wrong, result.stdout + result.stderr).toEqual([]);
      expect(refused(planned)).toEqual(expected);
    },
  );
});
