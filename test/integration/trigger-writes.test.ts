import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, workDir } from '../support/cli.js';
import { endpointOf } from '../support/config.js';
import { servers, sql, uniqueName } from '../support/db.js';

/**
 * MusicBrainz's a_ins_artist fills artist_meta for each artist inserted; a run that copies both
 * tables then meets duplicate keys in artist_meta. The plan connects the trigger to the planned
 * table it may write to.
 */
const s = servers();
const schema = uniqueName('TriggerWrites');
const q = `"${schema}"`;
const cleanups: (() => Promise<void>)[] = [];

const DDL = `
  CREATE SCHEMA ${q};
  CREATE TABLE ${q}.artist (id int PRIMARY KEY, name text);
  CREATE TABLE ${q}.artist_meta (id int PRIMARY KEY REFERENCES ${q}.artist, rating int);
  CREATE TABLE ${q}.label (id int PRIMARY KEY, name text);`;

const TRIGGERS = `
  CREATE TABLE ${q}.artist_meta_history (id int);
  CREATE FUNCTION ${q}.a_ins_artist() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN INSERT INTO ${q}.artist_meta (id) VALUES (NEW.id); RETURN NULL; END $$;
  CREATE TRIGGER a_ins_artist AFTER INSERT ON ${q}.artist
    FOR EACH ROW EXECUTE FUNCTION ${q}.a_ins_artist();
  -- Names a longer table only: not a planned one.
  CREATE FUNCTION ${q}.a_ins_label() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN INSERT INTO artist_meta_history (id) VALUES (NEW.id); RETURN NULL; END $$;
  CREATE TRIGGER a_ins_label AFTER INSERT ON ${q}.label
    FOR EACH ROW EXECUTE FUNCTION ${q}.a_ins_label();`;

interface PlanJson {
  targets: {
    tables: {
      target: string;
      triggers: { name: string; namedInSource?: string[] }[];
      warnings: string[];
      notes: string[];
    }[];
  }[];
}

async function plan(json: boolean) {
  const w = await workDir({
    source: endpointOf(s.source, schema),
    targets: [
      {
        name: 'db_1',
        ...endpointOf(s.target1, schema),
        tables: ['artist', 'artist_meta', 'label'],
      },
    ],
    options: { logDir: 'logs' },
  });
  cleanups.push(w.cleanup);
  return cli(['plan', ...(json ? ['--json'] : []), '-c', w.file], { cwd: w.dir });
}

beforeAll(async () => {
  await sql(s.source, DDL);
  await sql(s.target1, `${DDL}${TRIGGERS}`);
});

afterAll(async () => {
  for (const c of cleanups) await c();
  for (const server of [s.source, s.target1]) await sql(server, `DROP SCHEMA ${q} CASCADE`);
});

const MAY_WRITE = `trigger "a_ins_artist" (${q}.a_ins_artist()) may write to planned table(s) "artist_meta" (its source names them; the catalog records no tables for a trigger function): rows it writes there may collide with the copied ones (duplicate keys) or be replaced by them`;
const CANNOT_KNOW = `cannot know which tables trigger "a_ins_label" (${q}.a_ins_label()) write to (the catalog records no tables for a trigger function); their source names no planned table`;

describe('bug: triggers that write into another planned table were listed but not connected', () => {
  it('plan --json names the planned tables a trigger function may write to, and says when it cannot know', async () => {
    const result = await plan(true);
    expect(result.stderr).toBe('');
    const tables = (JSON.parse(result.stdout) as PlanJson).targets[0]?.tables ?? [];
    const artist = tables.find((t) => t.target === 'artist');
    const label = tables.find((t) => t.target === 'label');
    expect(artist?.triggers.map((t) => [t.name, t.namedInSource])).toEqual([
      ['a_ins_artist', ['artist_meta']],
    ]);
    expect(artist?.warnings).toContain(MAY_WRITE);
    expect(label?.triggers.map((t) => [t.name, t.namedInSource])).toEqual([['a_ins_label', []]]);
    expect(label?.warnings.some((w) => w.includes('may write to'))).toBe(false);
    expect(label?.notes).toContain(CANNOT_KNOW);
  });

  it('the plan text says the same', async () => {
    const result = await plan(false);
    expect(result.stdout).toContain(`artist: ${MAY_WRITE}`);
    expect(result.stdout).toContain(`label: ${CANNOT_KNOW}`);
  });

  it('a trigger function cannot have a SQL-standard body, the only kind whose tables the catalog records', async () => {
    await expect(
      sql(
        s.target1,
        `CREATE FUNCTION ${q}.atomic() RETURNS trigger LANGUAGE sql BEGIN ATOMIC SELECT NULL; END`,
      ),
    ).rejects.toThrow(/SQL functions cannot return type trigger/);
  });
});
