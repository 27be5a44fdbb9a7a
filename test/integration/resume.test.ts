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
  it("skips the pairs the target's ledger records under the report's run id, even one whose plan changed since (no row twice), and runs the rest, saying why", async () => {
    const first = await cli(['run', '-c', work.file, '--quiet', '--report', 'first.json'], {
      cwd: work.dir,
    });
    expect(first.code).toBe(1);
    const report = JSON.parse(await readFile(join(work.dir, 'first.json'), 'utf8')) as RunReport;
    expect(result(report, 'a').planHash).toMatch(/^[0-9a-f]{32}$/);
    expect(report.runId).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{6}$/);
    // Fix c; change b's plan (a where filter): b is not appended again all the same.
    await sql(s.target1, `DELETE FROM ${q}.c`);
    await writeFile(work.file, JSON.stringify(config(['a', { name: 'b', where: 'id > 5' }, 'c'])));
    const second = await cli(
      ['run', '-c', work.file, '--resume', 'first.json', '--report', 'second.json'],
      { cwd: work.dir },
    );
    expect(second.code).toBe(0);
    const runId = report.runId ?? '';
    expect(second.stderr).toContain(`Run ${runId}: 3 table(s)`);
    expect(second.stderr).toMatch(
      new RegExp(
        `Skipped db_1\\.a: committed under run ${runId} at \\S+ \\(10 rows\\), as the target's ledger records$`,
        'm',
      ),
    );
    expect(second.stderr).toContain(
      'its plan has changed since it was committed under this run id: not copied again',
    );
    expect(second.stderr).toContain(
      `Copying again db_1.c: not in the target's ledger under run ${runId}`,
    );
    // Neither a nor b was appended twice.
    expect([await count('a'), await count('b'), await count('c')]).toEqual([10, 10, 10]);
    const resumed = JSON.parse(await readFile(join(work.dir, 'second.json'), 'utf8')) as RunReport;
    expect(resumed.runId).toBe(runId);
    // This run copied none of a: the earlier run's count is not this run's.
    expect(result(resumed, 'a')).toMatchObject({
      resumed: true,
      status: 'done',
      rows: 0,
      committedBefore: { rows: 10 },
    });
    expect(result(resumed, 'b')).toMatchObject({ resumed: true, status: 'warnings', rows: 0 });
    expect(result(resumed, 'c')).toMatchObject({ status: 'done', rows: 10 });
  });

  it('refuses a report written for other databases', async () => {
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
      expect(out.stderr).toContain('was written by a run between other databases');
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

  it('bug: a staging report resumed a production run: endpoints are matched as they resolve (service:, PG* variables)', async () => {
    const serviceFile = (server: typeof s.target1): string =>
      `[tgt]\nhost=${server.host}\nport=${server.port}\ndbname=postgres\nuser=${server.user}\npassword=${server.password}\nsslmode=disable\n`;
    const byService = await workDir({
      source: endpointOf(s.source, schema),
      targets: [{ name: 'db_1', service: 'tgt', schema, tables: ['a'] }],
      options: { mode: 'append', logDir: 'logs' },
    });
    try {
      await sql(s.target2, `CREATE SCHEMA ${q}; CREATE TABLE ${q}.a (id int PRIMARY KEY)`);
      const staging = join(byService.dir, 'staging.conf');
      const production = join(byService.dir, 'production.conf');
      await writeFile(staging, serviceFile(s.target2));
      await writeFile(production, serviceFile(s.target1));
      const first = await cli(
        ['run', '-c', byService.file, '--quiet', '--report', 'staging.json'],
        {
          cwd: byService.dir,
          env: { PGSERVICEFILE: staging },
        },
      );
      expect(first.code).toBe(0);
      const before = await count('a');
      // The same config, the same words: the service now names production.
      const second = await cli(['run', '-c', byService.file, '--resume', 'staging.json'], {
        cwd: byService.dir,
        env: { PGSERVICEFILE: production },
      });
      expect(second.code).toBe(2);
      expect(second.stderr).toContain('was written by a run between other databases');
      expect(await count('a')).toBe(before);
      // PG* variables likewise: a source left to PGHOST/PGPORT is the server they name.
      const byEnv = await workDir({
        source: { schema, sslmode: 'disable' },
        targets: [{ name: 'db_1', ...endpointOf(s.target1, schema), tables: ['a'] }],
        options: { mode: 'append', logDir: 'logs' },
      });
      try {
        const pg = (server: typeof s.source): Record<string, string> => ({
          PGHOST: server.host,
          PGPORT: String(server.port),
          PGUSER: server.user,
          PGPASSWORD: server.password,
          PGDATABASE: 'postgres',
        });
        // The staging run reads target2's copy of a (the staging source) into db_1.
        const real = await cli(
          ['run', '-c', byEnv.file, '--quiet', '--report', 'r.json', '--mode', 'truncate'],
          {
            cwd: byEnv.dir,
            env: pg(s.target2),
          },
        );
        expect(real.code).toBe(0);
        const elsewhere = await cli(['run', '-c', byEnv.file, '--resume', 'r.json'], {
          cwd: byEnv.dir,
          env: pg(s.source),
        });
        expect(elsewhere.code).toBe(2);
        expect(elsewhere.stderr).toContain('was written by a run between other databases');
      } finally {
        await byEnv.cleanup();
      }
    } finally {
      await byService.cleanup();
      await sql(s.target2, `DROP SCHEMA IF EXISTS ${q} CASCADE`);
    }
  });

  it('bug: a hand-edited report was trusted: keys a report never has are refused, row counts never carried', async () => {
    const valid = JSON.parse(await readFile(join(work.dir, 'second.json'), 'utf8')) as RunReport;
    const withKey = {
      ...valid,
      tables: valid.tables.map((t, i) => (i === 0 ? { ...t, injected: 'x' } : t)),
    };
    await writeFile(join(work.dir, 'edited-key.json'), JSON.stringify({ ...withKey, error: null }));
    const refused = await cli(['run', '-c', work.file, '--resume', 'edited-key.json'], {
      cwd: work.dir,
    });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      /edited-key\.json is not a pgcopy run report \(tables\.0: .*injected/,
    );
    const inflated = {
      ...valid,
      error: null,
      tables: valid.tables.map((t) => ({ ...t, rows: 999_999, bytes: 123_456_789, seconds: 42 })),
    };
    await writeFile(join(work.dir, 'inflated.json'), JSON.stringify(inflated));
    const out = await cli(
      ['run', '-c', work.file, '--resume', 'inflated.json', '--report', 'after.json'],
      { cwd: work.dir },
    );
    expect(out.code).toBe(0);
    const after = JSON.parse(await readFile(join(work.dir, 'after.json'), 'utf8')) as RunReport;
    for (const t of after.tables.filter((t) => t.resumed === true)) {
      expect([t.table, t.rows, t.bytes, t.seconds]).toEqual([t.table, 0, 0, 0]);
    }
    expect(after.tables.some((t) => t.resumed === true)).toBe(true);
  });
});
