import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunReport } from '../../src/report/events.js';
import { cli, workDir } from '../support/cli.js';
import { endpointOf } from '../support/config.js';
import { servers, sql, uniqueName } from '../support/db.js';
import { result } from '../support/report.js';

const schema = uniqueName('Resume');
const q = `"${schema}"`;
const s = servers();
let work: Awaited<ReturnType<typeof workDir>>;

function config(tables: unknown[]): unknown {
  return {
    source: endpointOf(s.source, schema),
    targets: [{ name: 'db_1', ...endpointOf(s.target1, schema), tables }],
    options: { mode: 'append', logDir: 'logs' },
  };
}

beforeAll(async () => {
  await sql(
    s.source,
    `CREATE SCHEMA ${q};
     CREATE TABLE ${q}.a (id int PRIMARY KEY); INSERT INTO ${q}.a SELECT generate_series(1, 10);
     CREATE TABLE ${q}.b (id int PRIMARY KEY); INSERT INTO ${q}.b SELECT generate_series(1, 10);
     CREATE TABLE ${q}.c (id int PRIMARY KEY); INSERT INTO ${q}.c SELECT generate_series(1, 10);`,
  );
  // c clashes with the source on id 5: it fails in the first run.
  await sql(
    s.target1,
    `CREATE SCHEMA ${q};
     CREATE TABLE ${q}.a (id int PRIMARY KEY); CREATE TABLE ${q}.b (id int);
     CREATE TABLE ${q}.c (id int PRIMARY KEY); INSERT INTO ${q}.c VALUES (5);`,
  );
  work = await workDir(config(['a', 'b', 'c']));
});

afterAll(async () => {
  await work.cleanup();
  await sql(s.source, `DROP SCHEMA ${q} CASCADE`);
  await sql(s.target1, `DROP SCHEMA ${q} CASCADE`);
});

const count = async (table: string): Promise<number> =>
  ((await sql(s.target1, `SELECT count(*)::int AS n FROM ${q}.${table}`)).rows[0] as { n: number })
    .n;

describe('run --resume REPORT', () => {
  it('skips the pairs the report marks done with an unchanged plan and runs the rest, saying why', async () => {
    const first = await cli(['run', '-c', work.file, '--quiet', '--report', 'first.json'], {
      cwd: work.dir,
    });
    expect(first.code).toBe(1);
    const report = JSON.parse(await readFile(join(work.dir, 'first.json'), 'utf8')) as RunReport;
    expect(result(report, 'a').planHash).toMatch(/^[0-9a-f]{32}$/);
    // Fix c; change b's plan (a where filter): b is copied again, a is skipped.
    await sql(s.target1, `DELETE FROM ${q}.c`);
    await writeFile(work.file, JSON.stringify(config(['a', { name: 'b', where: 'id > 5' }, 'c'])));
    const second = await cli(
      ['run', '-c', work.file, '--resume', 'first.json', '--report', 'second.json'],
      { cwd: work.dir },
    );
    expect(second.code).toBe(0);
    expect(second.stderr).toMatch(/Skipped db_1\.a: done in the report of \S+, plan unchanged/);
    expect(second.stderr).toContain(
      'Copying again db_1.b: done in the report, but its plan has changed since',
    );
    expect(second.stderr).toContain('Copying again db_1.c: it failed in the report');
    // a was not appended twice; b got its filtered rows on top of the first run's.
    expect([await count('a'), await count('b'), await count('c')]).toEqual([10, 15, 10]);
    const resumed = JSON.parse(await readFile(join(work.dir, 'second.json'), 'utf8')) as RunReport;
    expect(result(resumed, 'a')).toMatchObject({ resumed: true, status: 'done', rows: 10 });
    expect(result(resumed, 'c')).toMatchObject({ status: 'done', rows: 10 });
  });

  it('refuses a report written for another config', async () => {
    const other = await workDir({
      ...(config(['a']) as object),
      targets: [{ name: 'db_2', ...endpointOf(s.target1, schema), tables: ['a'] }],
    });
    try {
      await writeFile(join(other.dir, 'first.json'), await readFile(join(work.dir, 'first.json')));
      const out = await cli(['run', '-c', other.file, '--resume', 'first.json'], {
        cwd: other.dir,
      });
      expect(out.code).toBe(2);
      expect(out.stderr).toContain('was written by a run of another config');
    } finally {
      await other.cleanup();
    }
  });

  it.each([
    ['missing.json', undefined, /^pgcopy: --resume: cannot read .*missing\.json \(ENOENT\)/m],
    ['not-json.json', 'pgcopy', /--resume: .*not-json\.json is not JSON/],
    ['null.json', 'null', /--resume: .*null\.json is not a pgcopy run report/],
  ] as const)('refuses --resume %s with exit 2', async (name, content, message) => {
    if (content !== undefined) await writeFile(join(work.dir, name), content);
    const out = await cli(['run', '-c', work.file, '--resume', name], { cwd: work.dir });
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(message);
  });
});
