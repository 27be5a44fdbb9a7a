import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { validateConfig } from '../../src/config/validate.js';
import { run } from '../../src/copy/run.js';
import type { Mode } from '../../src/config/types.js';
import type { Plan } from '../../src/plan/types.js';
import { verifyTables } from '../../src/verify/verify-tables.js';
import type { ServerInfo } from '../support/server-info.js';
import { servers, sql, uniqueName } from '../support/db.js';

// Issue 21's whole-schema acceptance, on a schema made here: ~110 tables whose foreign keys form
// trees, a diamond, a self-reference, a two-table cycle and a partitioned table with a default
// partition; trigger functions that name the schema's own function and table without a schema
// (found through the database's search_path, as real schemas do); and a trigger that fills another
// table of the same run. Copied with tables: ["*"], every table must copy exactly or be refused
// in the plan with its reason, leave no orphan rows and print no MaxListenersExceededWarning.

const s = servers();
const schema = uniqueName('Whole');
const q = `"${schema}"`;
const sourceDb = uniqueName('whole_src').toLowerCase();
const templateDb = uniqueName('whole_tmpl').toLowerCase();
const targetDbs: string[] = [];

const TREES = 4;
const CHILDREN = 4;
const GRANDCHILDREN = 5;
const ROWS = 30;

/** A table of the schema: its name and the tables its NOT NULL foreign keys point at. */
interface TableDef {
  readonly name: string;
  readonly parents: readonly string[];
}

function treeTables(): TableDef[] {
  const tables: TableDef[] = [];
  for (let t = 0; t < TREES; t++) {
    const root = `tree${t}`;
    tables.push({ name: root, parents: [] });
    for (let c = 0; c < CHILDREN; c++) {
      const child = `${root}_c${c}`;
      tables.push({ name: child, parents: [root] });
      for (let g = 0; g < GRANDCHILDREN; g++) {
        tables.push({ name: `${child}_g${g}`, parents: [child] });
      }
    }
  }
  tables.push(
    { name: 'diamond_top', parents: [] },
    { name: 'diamond_left', parents: ['diamond_top'] },
    { name: 'diamond_right', parents: ['diamond_top'] },
    { name: 'diamond_bottom', parents: ['diamond_left', 'diamond_right'] },
  );
  return tables;
}

const TABLES = treeTables();
/** Tables whose rows pass through the trigger that resolves names by the search_path. */
const TIDIED = [...TABLES.filter((t) => t.parents.length === 0).map((t) => t.name)];

function tableDdl(t: TableDef): string {
  const refs = t.parents.map((p, i) => `, parent${i} int NOT NULL REFERENCES ${q}."${p}"`).join('');
  return `CREATE TABLE ${q}."${t.name}" (id int PRIMARY KEY${refs}, name text NOT NULL,
    amount numeric(12,2), created_at timestamptz, tags text[]);`;
}

function schemaDdl(): string {
  return `
    CREATE SCHEMA ${q};
    -- Named without a schema by the trigger function below: found through the search_path.
    CREATE FUNCTION ${q}.tidy(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT btrim(t) $$;
    CREATE TABLE ${q}.settings (key text PRIMARY KEY, value text NOT NULL);
    CREATE FUNCTION ${q}.tidy_name() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF EXISTS (SELECT 1 FROM settings WHERE key = 'tidy' AND value = 'on') THEN
          NEW.name := tidy(NEW.name);
        END IF;
        RETURN NEW;
      END $$;
    ${TABLES.map(tableDdl).join('\n')}
    -- A trigger that writes into another planned table (as an insert into artist fills artist_meta).
    CREATE TABLE ${q}.tree0_meta (id int PRIMARY KEY REFERENCES ${q}.tree0, hits int NOT NULL DEFAULT 0);
    CREATE FUNCTION ${q}.add_meta() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN INSERT INTO ${q}.tree0_meta (id) VALUES (NEW.id); RETURN NULL; END $$;
    CREATE TRIGGER add_meta AFTER INSERT ON ${q}.tree0 FOR EACH ROW EXECUTE FUNCTION ${q}.add_meta();
    ${TIDIED.map(
      (t) => `CREATE TRIGGER tidy_name BEFORE INSERT OR UPDATE ON ${q}."${t}"
        FOR EACH ROW EXECUTE FUNCTION ${q}.tidy_name();`,
    ).join('\n')}
    CREATE TABLE ${q}.staff (id int PRIMARY KEY, manager_id int REFERENCES ${q}.staff, name text);
    CREATE TABLE ${q}.cycle_a (id int PRIMARY KEY, b_id int, name text);
    CREATE TABLE ${q}.cycle_b (id int PRIMARY KEY, a_id int REFERENCES ${q}.cycle_a, name text);
    ALTER TABLE ${q}.cycle_a ADD FOREIGN KEY (b_id) REFERENCES ${q}.cycle_b;
    CREATE TABLE ${q}.readings (id int, at date, tree_id int NOT NULL REFERENCES ${q}.tree1,
      value numeric, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
    CREATE TABLE ${q}.readings_2024 PARTITION OF ${q}.readings
      FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
    CREATE TABLE ${q}.readings_default PARTITION OF ${q}.readings DEFAULT;
  `;
}

/** Rows with keys from `base + 1`; the target's own rows in truncate mode use another base. */
function fillSql(base: number, label: string): string {
  const ids = `generate_series(${base + 1}, ${base + ROWS}) g`;
  const pick = (i: number): string => `${base} + 1 + (g + ${i}) % ${ROWS}`;
  const rows = TABLES.map((t) => {
    const refs = t.parents.map((_, i) => `, ${pick(i)}`).join('');
    return `INSERT INTO ${q}."${t.name}" SELECT g${refs}, '${label} ${t.name} ' || g,
      g * 1.25, TIMESTAMPTZ '2024-03-01 12:00:00.123456+00' + g * INTERVAL '1 hour',
      ARRAY['${label}', g::text] FROM ${ids};`;
  });
  return `
    INSERT INTO ${q}.settings VALUES ('tidy', 'on'), ('${label}', '${base}');
    ${rows.join('\n')}
    INSERT INTO ${q}.staff SELECT g, CASE WHEN g > ${base + 1} THEN g - 1 END, '${label} ' || g FROM ${ids};
    INSERT INTO ${q}.cycle_a SELECT g, NULL, '${label} a' || g FROM ${ids};
    INSERT INTO ${q}.cycle_b SELECT g, ${pick(0)}, '${label} b' || g FROM ${ids};
    UPDATE ${q}.cycle_a SET b_id = ${base} + 1 + (id + 3) % ${ROWS};
    INSERT INTO ${q}.readings SELECT g, DATE '2023-10-01' + g * 20, ${pick(1)}, g / 7.0 FROM ${ids};
  `;
}

function endpoint(server: ServerInfo, database: string): Record<string, unknown> {
  const { host, port, user, password } = server;
  return { host, port, user, password, database, schema, sslmode: 'disable' };
}

async function inDb<T>(
  server: ServerInfo,
  database: string,
  work: (c: pg.Client) => Promise<T>,
): Promise<T> {
  const client = new pg.Client({ ...server, database });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A database of its own whose search_path finds the schema's objects (a setting, per database). */
async function createDb(server: ServerInfo, name: string, template?: string): Promise<void> {
  await sql(server, `CREATE DATABASE "${name}"${template ? ` TEMPLATE "${template}"` : ''}`);
  await sql(server, `ALTER DATABASE "${name}" SET search_path = ${q}, public`);
}

/** Row count and md5 of the sorted rows of every table, read directly on the server. */
async function digests(server: ServerInfo, database: string): Promise<Map<string, string>> {
  return inDb(server, database, async (c) => {
    const tables = await c.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_class c WHERE c.relnamespace = $1::regnamespace
         AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1`,
      [q],
    );
    const out = new Map<string, string>();
    for (const { name } of tables.rows) {
      const r = await c.query<{ n: number; h: string }>(
        `SELECT count(*)::int AS n, coalesce(md5(string_agg(r::text, E'\\n' ORDER BY r::text)), '') AS h
           FROM ${q}."${name}" r`,
      );
      const row = r.rows[0];
      out.set(name, `${row?.n ?? 0} rows ${row?.h ?? ''}`);
    }
    return out;
  });
}

/** Foreign keys of the target with child rows that have no parent row. */
async function orphans(server: ServerInfo, database: string): Promise<string[]> {
  return inDb(server, database, async (c) => {
    const fks = await c.query<{
      name: string;
      child: string;
      parent: string;
      on: string;
      set: string;
    }>(
      `SELECT con.conname AS name, con.conrelid::regclass::text AS child,
              con.confrelid::regclass::text AS parent,
              (SELECT string_agg(format('p.%I = c.%I', pa.attname, ca.attname), ' AND ')
                 FROM unnest(con.conkey, con.confkey) k(c, p)
                 JOIN pg_attribute ca ON ca.attrelid = con.conrelid AND ca.attnum = k.c
                 JOIN pg_attribute pa ON pa.attrelid = con.confrelid AND pa.attnum = k.p) AS on,
              (SELECT string_agg(format('c.%I IS NOT NULL', ca.attname), ' AND ')
                 FROM unnest(con.conkey) k(c)
                 JOIN pg_attribute ca ON ca.attrelid = con.conrelid AND ca.attnum = k.c) AS set
         FROM pg_constraint con
        WHERE con.contype = 'f' AND con.connamespace = $1::regnamespace AND con.conparentid = 0`,
      [q],
    );
    const found: string[] = [];
    for (const fk of fks.rows) {
      const r = await c.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${fk.child} c
          WHERE ${fk.set} AND NOT EXISTS (SELECT 1 FROM ${fk.parent} p WHERE ${fk.on})`,
      );
      const n = r.rows[0]?.n ?? 0;
      if (n > 0) found.push(`${fk.child} -> ${fk.parent} (${fk.name}): ${n} orphan rows`);
    }
    return found;
  });
}

interface WholeCopy {
  readonly plan: Plan;
  /** Tables neither copied exactly nor refused in the plan, with what happened to them. */
  readonly wrong: string[];
  /** Tables the plan refused, with its reasons. */
  readonly refused: Map<string, readonly string[]>;
  readonly orphans: string[];
  readonly warnings: string[];
  /** Tables where `verify`'s verdict disagrees with the direct comparison. */
  readonly verifyDisagrees: string[];
}

async function copyWhole(
  mode: Mode,
  options: { disableTriggers?: boolean; targetRows?: boolean } = {},
): Promise<WholeCopy> {
  const db = uniqueName('whole_t').toLowerCase();
  targetDbs.push(db);
  await createDb(s.target1, db, templateDb);
  if (options.targetRows) await inDb(s.target1, db, (c) => c.query(fillSql(1000, 'target')));
  const config = validateConfig({
    source: endpoint(s.source, sourceDb),
    targets: [{ name: 'whole', ...endpoint(s.target1, db), tables: ['*'] }],
    options: { mode, disableTriggers: options.disableTriggers ?? false, concurrency: 4 },
  });
  const warnings: string[] = [];
  const onWarning = (w: Error): void => void warnings.push(`${w.name}: ${w.message}`);
  process.on('warning', onWarning);
  let outcome;
  try {
    outcome = await run(config, {});
  } finally {
    process.off('warning', onWarning);
  }
  const { plan, report } = outcome;
  const [source, target] = await Promise.all([digests(s.source, sourceDb), digests(s.target1, db)]);
  const refused = new Map<string, readonly string[]>();
  const wrong: string[] = [];
  const exact = new Set<string>();
  const planned = plan.targets[0]?.tables ?? [];
  for (const t of planned) {
    if (t.errors.length > 0) {
      refused.set(t.sourceTable, t.errors);
      if (t.errors.some((e) => e.trim() === ''))
        wrong.push(`${t.sourceTable}: refused without a reason`);
      continue;
    }
    const want = source.get(t.sourceTable);
    const got = target.get(t.targetTable);
    if (want === got) {
      exact.add(t.sourceTable);
      continue;
    }
    const result = report?.tables.find((r) => r.source === t.sourceTable);
    const what = result?.error ? `${result.status}: ${result.error.message}` : result?.status;
    wrong.push(`${t.sourceTable}: source ${want}, target ${got} (${what ?? 'not run'})`);
  }
  const unplanned = [...source.keys()].filter(
    (name) => !planned.some((t) => t.sourceTable === name),
  );
  for (const name of unplanned) wrong.push(`${name}: not in the plan`);
  const verified = await verifyTables(config);
  const verifyDisagrees = verified.tables
    .filter((v) => !refused.has(v.source) && (v.status === 'match') !== exact.has(v.source))
    .map((v) => `${v.source}: verify says ${v.status}${v.message ? ` (${v.message})` : ''}`);
  return {
    plan,
    wrong,
    refused,
    orphans: await orphans(s.target1, db),
    warnings: warnings.filter((w) => w.startsWith('MaxListenersExceededWarning')),
    verifyDisagrees,
  };
}

/** A failure message that a long list does not drown: its size and its first entries. */
function sample(what: string, list: readonly string[]): string {
  return `${what}: ${list.length}\n  ${list.slice(0, 8).join('\n  ')}`;
}

beforeAll(async () => {
  await createDb(s.source, sourceDb);
  await inDb(s.source, sourceDb, (c) => c.query(`${schemaDdl()}${fillSql(0, 'source')} ANALYZE;`));
  await createDb(s.target1, templateDb);
  await inDb(s.target1, templateDb, (c) => c.query(schemaDdl()));
}, 60_000);

afterAll(async () => {
  await sql(s.source, `DROP DATABASE IF EXISTS "${sourceDb}"`);
  for (const db of [...targetDbs, templateDb]) {
    await sql(s.target1, `DROP DATABASE IF EXISTS "${db}"`);
  }
});

describe('whole schema with tables: ["*"] (issue 21)', () => {
  it('the schema is as large as the case it stands for: 100+ planned tables', async () => {
    const tables = await digests(s.source, sourceDb);
    expect(tables.size).toBeGreaterThanOrEqual(100);
    // The trigger on tree0 filled tree0_meta on the source too.
    expect(tables.get('tree0_meta')).toMatch(new RegExp(`^${ROWS} rows`));
  });

  it.each([
    ['append onto an empty target', 'append' as const, {}],
    ['append with disableTriggers', 'append' as const, { disableTriggers: true }],
    ['truncate onto a target holding other rows', 'truncate' as const, { targetRows: true }],
    [
      'truncate with disableTriggers onto a target holding other rows',
      'truncate' as const,
      { targetRows: true, disableTriggers: true },
    ],
  ])(
    '%s: every table copies exactly or is refused in the plan with its reason, no orphan rows, no MaxListenersExceededWarning, verify agrees',
    async (_name, mode, options) => {
      const copy = await copyWhole(mode, options);
      // add_meta on tree0 writes into tree0_meta: refused while tree0 loads with triggers on.
      expect(copy.refused.get('tree0_meta')).toEqual(
        'disableTriggers' in options && options.disableTriggers
          ? undefined
          : [
              'trigger "add_meta" on planned table "tree0" writes into this table (INSERT): copying both with triggers on would add or change its rows; set disableTriggers on the target (or for "tree0"), or leave one of the two out',
            ],
      );
      expect.soft(copy.wrong, sample('neither exact nor refused', copy.wrong)).toEqual([]);
      expect.soft(copy.orphans, sample('orphans', copy.orphans)).toEqual([]);
      expect.soft(copy.warnings, sample('warnings', copy.warnings)).toEqual([]);
      expect.soft(copy.verifyDisagrees, sample('verify', copy.verifyDisagrees)).toEqual([]);
    },
    60_000,
  );

  it('truncate replaces a selection closed under its foreign keys: no table refused for being referenced by a table the run loads', async () => {
    const copy = await copyWhole('truncate', { targetRows: true });
    // The one refusal of the old kind: a table referenced by another that the run loads. A table
    // referenced by one the plan refuses (tree0 by tree0_meta) rightly cannot be truncated.
    const referencedByLoaded = [...copy.refused].filter(([, reasons]) =>
      reasons.some((r) => {
        const by = /^truncate: "[^"]+"\."([^"]+)" references this table by foreign key/.exec(r);
        return by !== null && !copy.refused.has(by[1] ?? '');
      }),
    );
    expect(
      referencedByLoaded,
      sample(
        'refused',
        referencedByLoaded.map(([t, r]) => `${t}: ${r.join('; ')}`),
      ),
    ).toEqual([]);
    // What is refused is refused for a reason of its own kind, each named.
    expect(copy.refused.get('cycle_a')?.join(' ')).toMatch(/form a cycle/);
    expect(copy.refused.get('tree0_meta')?.join(' ')).toMatch(
      /trigger "add_meta" on planned table "tree0"/,
    );
    expect(copy.refused.get('tree0_c0')?.join(' ')).toMatch(/its parent table "tree0" is refused/);
    // Everything else of the schema is replaced: the trees not behind tree0 among them.
    expect(copy.refused.has('tree1')).toBe(false);
    expect(copy.wrong).toEqual([]);
  }, 60_000);
});
