import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, workDir } from '../support/cli.js';
import { endpointOf } from '../support/config.js';
import { servers, sql, uniqueName } from '../support/db.js';

/**
 * `run --help` said `--mode` overrides every table's mode, while a table's own `mode` won. A mode
 * written on a table is a deliberate choice (an audit table that must only be appended to): the
 * table's mode stays, the help says so, and the plan says which tables kept their own.
 */
const s = servers();
const schema = uniqueName('ModeOverride');
const q = `"${schema}"`;
const cleanups: (() => Promise<void>)[] = [];

const DDL = `
  CREATE SCHEMA ${q};
  CREATE TABLE ${q}.audit (id int PRIMARY KEY);
  CREATE TABLE ${q}.items (id int PRIMARY KEY);`;

async function command(args: string[]) {
  const w = await workDir({
    source: endpointOf(s.source, schema),
    targets: [
      {
        name: 'db_1',
        ...endpointOf(s.target1, schema),
        tables: [{ name: 'audit', mode: 'append' }, 'items'],
      },
    ],
    options: { mode: 'upsert', logDir: 'logs' },
  });
  cleanups.push(w.cleanup);
  return cli([...args, '-c', w.file], { cwd: w.dir });
}

beforeAll(async () => {
  await sql(
    s.source,
    `${DDL} INSERT INTO ${q}.audit VALUES (1), (2); INSERT INTO ${q}.items VALUES (1), (2)`,
  );
  await sql(
    s.target1,
    `${DDL} INSERT INTO ${q}.audit VALUES (100); INSERT INTO ${q}.items VALUES (100)`,
  );
});

afterAll(async () => {
  for (const c of cleanups) await c();
  for (const server of [s.source, s.target1]) await sql(server, `DROP SCHEMA ${q} CASCADE`);
});

describe('bug: run --help said --mode overrides every table, but a table’s own mode wins', () => {
  it('the help of plan and run says --mode applies to tables without a mode of their own', async () => {
    for (const command of ['plan', 'run']) {
      const help = (await cli([command, '--help'])).stdout;
      expect(help).not.toContain("override every table's write mode");
      expect(help).toContain(
        '--mode MODE         write mode of the tables without a mode of their own (replaces options.mode)',
      );
    }
  });

  it('--mode truncate empties the table without a mode; the one with its own keeps it, and the plan says so', async () => {
    const planned = JSON.parse(
      (await command(['plan', '--json', '--mode', 'truncate'])).stdout,
    ) as {
      targets: { tables: { target: string; mode: string; notes: string[] }[] }[];
    };
    const tables = planned.targets[0]?.tables ?? [];
    expect(tables.map((t) => [t.target, t.mode])).toEqual([
      ['audit', 'append'],
      ['items', 'truncate'],
    ]);
    expect(tables[0]?.notes).toContain(
      "mode append is the table's own: the run's mode override (truncate) applies to tables without one",
    );
    expect(tables[1]?.notes.some((n) => n.includes('mode override'))).toBe(false);
    const ran = await command(['run', '--quiet', '--mode', 'truncate']);
    expect(ran.code).toBe(0);
    const { rows } = await sql(
      s.target1,
      `SELECT (SELECT array_agg(id ORDER BY id) FROM ${q}.audit) AS audit,
              (SELECT array_agg(id ORDER BY id) FROM ${q}.items) AS items`,
    );
    expect(rows[0]).toEqual({ audit: [1, 2, 100], items: [1, 2] });
  });
});
