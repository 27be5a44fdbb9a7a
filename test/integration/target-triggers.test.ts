import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { run } from '../../src/copy/run.js';
import { plan as makePlan } from '../../src/index.js';
import { cli, workDir } from '../support/cli.js';
import { endpointOf, testConfig } from '../support/config.js';
import { servers, sql, tableDigest, uniqueName } from '../support/db.js';

const schema = uniqueName('Triggers');
const q = `"${schema}"`;
const plainRole = uniqueName('loader').toLowerCase();
const setRole = uniqueName('replica_loader').toLowerCase();
const s = servers();

const TABLES = `
  CREATE SCHEMA ${q};
  CREATE TABLE ${q}.authors (id int PRIMARY KEY, name text);
  CREATE TABLE ${q}.docs (id int PRIMARY KEY, author_id int REFERENCES ${q}.authors, body text,
    tsv tsvector, updated_at timestamptz);
  CREATE TABLE ${q}.events (id int, at date) PARTITION BY RANGE (at);
  CREATE TABLE ${q}.events_2024 PARTITION OF ${q}.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
`;

/** The target's triggers: each rewrites what the copy writes, or records that it ran. */
const TRIGGERS = `
  CREATE TABLE ${q}.audit_log (at timestamptz DEFAULT now(), what text);
  CREATE FUNCTION ${q}.shout() RETURNS trigger LANGUAGE plpgsql AS
    $$ BEGIN NEW.body := upper(NEW.body); RETURN NEW; END $$;
  CREATE FUNCTION ${q}.stamp() RETURNS trigger LANGUAGE plpgsql AS
    $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$;
  CREATE FUNCTION ${q}.audit() RETURNS trigger LANGUAGE plpgsql AS
    $$ BEGIN INSERT INTO ${q}.audit_log (what) VALUES (TG_TABLE_NAME); RETURN NULL; END $$;
  CREATE TRIGGER tsv_update BEFORE INSERT OR UPDATE ON ${q}.docs
    FOR EACH ROW EXECUTE FUNCTION tsvector_update_trigger(tsv, 'pg_catalog.english', body);
  CREATE TRIGGER shout BEFORE INSERT ON ${q}.docs FOR EACH ROW EXECUTE FUNCTION ${q}.shout();
  CREATE TRIGGER stamp BEFORE UPDATE ON ${q}.docs FOR EACH ROW EXECUTE FUNCTION ${q}.stamp();
  CREATE TRIGGER audit AFTER INSERT ON ${q}.docs FOR EACH STATEMENT EXECUTE FUNCTION ${q}.audit();
  ALTER TABLE ${q}.docs ENABLE ALWAYS TRIGGER audit;
  CREATE TRIGGER switched_off BEFORE INSERT ON ${q}.docs FOR EACH ROW EXECUTE FUNCTION ${q}.shout();
  ALTER TABLE ${q}.docs DISABLE TRIGGER switched_off;
  CREATE TRIGGER ev_root AFTER INSERT ON ${q}.events FOR EACH ROW EXECUTE FUNCTION ${q}.audit();
  CREATE TRIGGER mark BEFORE INSERT ON ${q}.events_2024 FOR EACH ROW EXECUTE FUNCTION ${q}.stamp();
  CREATE TRIGGER part_stmt AFTER INSERT ON ${q}.events_2024 FOR EACH STATEMENT EXECUTE FUNCTION ${q}.audit();
`;

function grants(role: string): string {
  return `
    CREATE ROLE ${role} LOGIN PASSWORD '${role}-pw';
    GRANT USAGE ON SCHEMA ${q} TO ${role};
    GRANT SELECT, INSERT, UPDATE, TRUNCATE ON ALL TABLES IN SCHEMA ${q} TO ${role};`;
}

beforeAll(async () => {
  await sql(
    s.source,
    `${TABLES}
    INSERT INTO ${q}.authors SELECT g, 'author ' || g FROM generate_series(1, 10) g;
    INSERT INTO ${q}.docs
      SELECT g, 1 + g % 10, 'the quick brown foxes ' || g,
             to_tsvector('simple', 'the quick brown foxes ' || g), TIMESTAMPTZ '2024-05-01 10:00+00'
        FROM generate_series(1, 500) g;
    INSERT INTO ${q}.events SELECT g, DATE '2024-01-01' + g % 300 FROM generate_series(1, 50) g;
  `,
  );
  await sql(
    s.target1,
    `${TABLES}${TRIGGERS}${grants(plainRole)}${grants(setRole)}
    GRANT SET ON PARAMETER session_replication_role TO ${setRole};`,
  );
});

beforeEach(async () => {
  await sql(s.target1, `TRUNCATE ${q}.docs, ${q}.authors, ${q}.events, ${q}.audit_log`);
});

afterAll(async () => {
  await sql(s.source, `DROP SCHEMA ${q} CASCADE`);
  await sql(
    s.target1,
    `DROP SCHEMA ${q} CASCADE; DROP OWNED BY ${plainRole}, ${setRole}; DROP ROLE ${plainRole}, ${setRole}`,
  );
});

const ROW_TRIGGERS =
  '"shout" BEFORE INSERT FOR EACH ROW, "tsv_update" BEFORE INSERT OR UPDATE FOR EACH ROW';

function config(
  docs: Record<string, unknown>,
  options: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
) {
  return testConfig(
    { server: s.source, schema },
    [
      {
        name: 'db_1',
        server: s.target1,
        schema,
        tables: ['authors', { name: 'docs', ...docs }],
        extra,
      },
    ],
    options,
  );
}

async function docsDigests(): Promise<[unknown, unknown]> {
  const docs = `SELECT * FROM ${q}.docs`;
  return [await tableDigest(s.target1, docs), await tableDigest(s.source, docs)];
}

describe('target triggers that change copied values', () => {
  it('are listed in the plan with timing and events, because they rewrite the copied rows', async () => {
    const { plan, report } = await run(config({}));
    const docs = plan.targets[0]?.tables[1];
    expect(docs?.warnings).toEqual([
      `triggers fire on the copied rows and may change them: "audit" AFTER INSERT FOR EACH STATEMENT, ${ROW_TRIGGERS}; disableTriggers loads without them`,
    ]);
    expect(docs?.triggers?.map((t) => [t.name, t.timing, t.events, t.level, t.enabled])).toEqual([
      ['audit', 'AFTER', ['INSERT'], 'STATEMENT', 'A'],
      ['shout', 'BEFORE', ['INSERT'], 'ROW', 'O'],
      ['tsv_update', 'BEFORE', ['INSERT', 'UPDATE'], 'ROW', 'O'],
    ]);
    expect(report?.tables.map((t) => [t.table, t.status])).toEqual([
      ['authors', 'done'],
      ['docs', 'warnings'],
    ]);
    // What the warning is about: the target no longer holds the source's values.
    const [target, source] = await docsDigests();
    expect(target).not.toEqual(source);
    const { rows } = await sql(s.target1, `SELECT body FROM ${q}.docs WHERE id = 1`);
    expect(rows[0]).toEqual({ body: 'THE QUICK BROWN FOXES 1' });
  });

  it("upsert also lists the BEFORE UPDATE triggers; a partitioned target lists its partitions' row triggers once", async () => {
    const raw = config({ mode: 'upsert' });
    const events = testConfig({ server: s.source, schema }, [
      { name: 'db_1', server: s.target1, schema, tables: ['events'] },
    ]);
    const docs = (await makePlan(raw)).targets[0]?.tables[1];
    expect(docs?.warnings[0]).toContain(
      `"shout" BEFORE INSERT FOR EACH ROW, "stamp" BEFORE UPDATE FOR EACH ROW, "tsv_update"`,
    );
    const partitioned = (await makePlan(events)).targets[0]?.tables[0];
    expect(partitioned?.warnings).toEqual([
      'triggers fire on the copied rows and may change them: "ev_root" AFTER INSERT FOR EACH ROW, "mark" BEFORE INSERT FOR EACH ROW on partition "events_2024"; disableTriggers loads without them',
    ]);
  });

  it('disableTriggers loads the source values as they are, says what it skips, and keeps the load order', async () => {
    const { plan, report } = await run(config({ disableTriggers: true }));
    const docs = plan.targets[0]?.tables[1];
    expect(docs?.loadsAfter).toEqual(['authors']);
    expect(docs?.disableTriggers).toBe(true);
    expect(docs?.warnings).toEqual([
      `disableTriggers: loaded as a replica, so triggers "audit" AFTER INSERT FOR EACH STATEMENT, ${ROW_TRIGGERS} do not fire and foreign keys are not checked (load order kept)`,
      'triggers enabled ALWAYS or REPLICA fire even so: "audit" AFTER INSERT FOR EACH STATEMENT',
    ]);
    expect(plan.targets[0]?.tables[0]?.disableTriggers).toBe(false);
    expect(report?.tables.map((t) => [t.table, t.status])).toEqual([
      ['authors', 'done'],
      ['docs', 'warnings'],
    ]);
    const [target, source] = await docsDigests();
    expect(target).toEqual(source);
    const { rows } = await sql(s.target1, `SELECT what FROM ${q}.audit_log`);
    expect(rows).toEqual([{ what: 'docs' }]);
    // Only pgcopy's transaction ran as a replica: the target's triggers fire again afterwards.
    await sql(s.target1, `INSERT INTO ${q}.docs (id, author_id, body) VALUES (9999, 1, 'later')`);
    const later = await sql(s.target1, `SELECT body FROM ${q}.docs WHERE id = 9999`);
    expect(later.rows[0]).toEqual({ body: 'LATER' });
  });

  it("per target and per table: the table's setting wins over the target's, which wins over the run's", async () => {
    const tables = (
      await makePlan(
        config({ disableTriggers: false }, { disableTriggers: true }, { disableTriggers: true }),
      )
    ).targets[0]?.tables;
    expect(tables?.map((t) => [t.targetTable, t.disableTriggers])).toEqual([
      ['authors', true],
      ['docs', false],
    ]);
  });

  it('is a plan error for a role that may not set session_replication_role, and works for one granted SET on it', async () => {
    const as = (role: string) => ({ user: role, password: `${role}-pw` });
    const refused = await run(config({ disableTriggers: true }, {}, as(plainRole)));
    const docs = refused.report?.tables[1];
    expect(docs?.status).toBe('error');
    expect(docs?.error).toEqual({
      code: 'PLAN',
      message:
        'disableTriggers: the role may not set session_replication_role (it needs to be superuser or, on PostgreSQL 15+, to be granted SET ON PARAMETER session_replication_role)',
    });
    expect(refused.report?.tables[0]?.status).toBe('done');

    await sql(s.target1, `TRUNCATE ${q}.docs, ${q}.authors`);
    const allowed = await run(config({ disableTriggers: true }, {}, as(setRole)));
    expect(allowed.report?.tables.map((t) => [t.table, t.status])).toEqual([
      ['authors', 'done'],
      ['docs', 'warnings'],
    ]);
    const [target, source] = await docsDigests();
    expect(target).toEqual(source);
  });

  it('pgcopy check reports whether the role may disable triggers, and fails when the config needs it', async () => {
    const check = async (role: string): Promise<{ code: number; stdout: string }> => {
      const work = await workDir({
        source: endpointOf(s.source, schema),
        targets: [
          {
            name: 'db_1',
            ...endpointOf(s.target1, schema),
            user: role,
            password: `${role}-pw`,
            disableTriggers: true,
            tables: ['docs'],
          },
        ],
      });
      try {
        return await cli(['check', '-c', work.file]);
      } finally {
        await work.cleanup();
      }
    };
    const refused = await check(plainRole);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain(
      '  triggers    may not be disabled (session_replication_role needs superuser or SET on it)\n',
    );
    expect(refused.stdout).toContain(
      '  - db_1: SET on parameter session_replication_role (disableTriggers; or be superuser)\n',
    );
    const allowed = await check(setRole);
    expect(allowed.stdout).toContain(
      '  triggers    may be disabled (session_replication_role = replica)\n',
    );
    expect(allowed.code).toBe(0);
  });
});
