import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servers, sql, tableDigest, uniqueName } from '../support/db.js';
import { endpointOf } from '../support/config.js';
import { cli, workDir } from '../support/cli.js';

const schema = uniqueName('Cli');
const q = `"${schema}"`;
const s = servers();
const cleanups: (() => Promise<void>)[] = [];

function rawConfig(
  tables: unknown[],
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    source: endpointOf(s.source, schema),
    targets: [{ name: 'db_1', ...endpointOf(s.target1, schema), tables }],
    ...extra,
  };
}

async function setup(config: unknown): Promise<{ dir: string; file: string }> {
  const w = await workDir(config);
  cleanups.push(w.cleanup);
  return w;
}

beforeAll(async () => {
  await sql(
    s.source,
    `
    CREATE SCHEMA ${q};
    CREATE TABLE ${q}.good (id int PRIMARY KEY, v text);
    INSERT INTO ${q}.good SELECT g, 'v' || g FROM generate_series(1, 2000) g;
    CREATE TABLE ${q}.warn (id int, v text, only_here int);
    INSERT INTO ${q}.warn SELECT g, 'w', 1 FROM generate_series(1, 10) g;
    CREATE TABLE ${q}.clash (id int);
    INSERT INTO ${q}.clash VALUES (1), (2), (2);
  `,
  );
  await sql(
    s.target1,
    `
    CREATE SCHEMA ${q};
    CREATE TABLE ${q}.good (id int PRIMARY KEY, v text);
    CREATE TABLE ${q}.warn (id int, v text);
    CREATE TABLE ${q}.clash (id int PRIMARY KEY);
    INSERT INTO ${q}.clash VALUES (100);
  `,
  );
});

afterAll(async () => {
  for (const c of cleanups) await c();
  await sql(s.source, `DROP SCHEMA ${q} CASCADE`);
  await sql(s.target1, `DROP SCHEMA ${q} CASCADE`);
});

describe('pgcopy CLI', () => {
  it('prints help and exits 2 without a command; unknown commands exit 2', async () => {
    expect((await cli([])).code).toBe(2);
    expect((await cli(['--help'])).stdout).toContain('pgcopy plan [-c FILE]');
    const unknown = await cli(['copy']);
    expect(unknown).toMatchObject({
      code: 2,
      stderr: 'pgcopy: unknown command "copy" (try pgcopy --help)\n',
    });
  });

  it('plan: exit 2 on an invalid config, naming the key, without a stack trace', async () => {
    const { file } = await setup({
      source: { host: 'h' },
      targets: [{ name: 'x', host: 'h', tables: [42] }],
    });
    const result = await cli(['plan', '-c', file]);
    expect(result).toEqual({
      code: 2,
      stdout: '',
      stderr: 'pgcopy: targets[0].tables[0]: expected a table name, got 42\n',
    });
  });

  it('plan: exit 2 for a missing config file or an unknown flag', async () => {
    expect((await cli(['plan', '-c', '/nonexistent/pgcopy.yaml'])).stderr).toBe(
      'pgcopy: --config: cannot read /nonexistent/pgcopy.yaml (ENOENT)\n',
    );
    const flag = await cli(['plan', '--frobnicate']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toBe('pgcopy: usage: unknown option --frobnicate\n');
    expect((await cli(['plan'])).stderr).toMatch(/^pgcopy: usage: no config file found; tried /);
  });

  it('plan --json prints the documented shape and exits 0 when every table can be copied', async () => {
    const { file } = await setup(rawConfig(['good', 'warn']));
    const result = await cli(['plan', '-c', file, '--json']);
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout) as {
      targets: { name: string; tables: Record<string, unknown>[] }[];
    };
    expect(json.targets[0]?.name).toBe('db_1');
    expect(json.targets[0]?.tables[1]).toMatchObject({
      source: 'warn',
      target: 'warn',
      mode: 'append',
      columns: ['id', 'v'],
      skipped: { sourceOnly: ['only_here'], targetOnly: [] },
      casts: [],
      warnings: ['source-only columns skipped: "only_here"'],
      errors: [],
    });
  });

  it('an unreachable target fails its own tables only; the others are planned and copied', async () => {
    const raw = rawConfig(['good'], { options: { logDir: 'logs', mode: 'truncate' } });
    const targets = raw.targets as Record<string, unknown>[];
    targets.push({ ...targets[0], name: 'gone', port: 1, tables: ['good'] });
    const { dir, file } = await setup(raw);
    const planned = await cli(['plan', '-c', file], { cwd: dir });
    expect(planned.code).toBe(1);
    expect(planned.stdout).toMatch(
      /✖ good: cannot connect to gone \(postgres@127\.0\.0\.1:1\/postgres\): connect ECONNREFUSED 127\.0\.0\.1:1\n/,
    );
    const ran = await cli(['run', '-c', file, '--quiet'], { cwd: dir });
    expect(ran.code).toBe(1);
    expect(ran.stdout).toMatch(/db_1\s+good\s+done\s+2,000/);
    expect(ran.stdout).toMatch(/gone\s+good\s+error\s+0/);
    await sql(s.target1, `TRUNCATE ${q}.good`);
  });

  it('plan exits 1 when a table cannot be copied, and filters by --table', async () => {
    const { file } = await setup(rawConfig(['good', 'missing_table']));
    const all = await cli(['plan', '-c', file]);
    expect(all.code).toBe(1);
    expect(all.stdout).toContain(
      `✖ missing_table: source table "${schema}"."missing_table" does not exist`,
    );
    const filtered = await cli(['plan', '-c', file, '--table', 'good']);
    expect(filtered.code).toBe(0);
    expect(filtered.stdout).not.toContain('missing_table');
    const unknown = await cli(['plan', '-c', file, '--target', 'nope']);
    expect(unknown.stderr).toBe('pgcopy: --target: no target named "nope" (targets: db_1)\n');
  });

  it('run: copies, writes the audit log with the markers, the JSON report and the summary; exit 1 on a failed table', async () => {
    const { dir, file } = await setup(
      rawConfig(['good', 'warn', 'clash'], { options: { logDir: 'audit-logs' } }),
    );
    const reportFile = join(dir, 'report.json');
    const before = await tableDigest(s.target1, `SELECT * FROM ${q}.clash`);
    const result = await cli(['run', '-c', file, '--report', reportFile], {
      cwd: dir,
      env: { PGCOPY_TEST: '1' },
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/TARGET\s+TABLE\s+STATUS\s+ROWS\s+MB\s+MB\/S/);
    expect(result.stdout).toMatch(/db_1\s+good\s+done\s+2,000/);
    expect(result.stdout).toMatch(/db_1\s+warn\s+done with warnings\s+10/);
    expect(result.stdout).toMatch(/db_1\s+clash\s+error\s+0/);
    expect(await tableDigest(s.target1, `SELECT * FROM ${q}.clash`)).toEqual(before);

    const logs = await readdir(join(dir, 'audit-logs'));
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(/^audit_\d{8}_\d{6}\.log$/);
    const log = await readFile(join(dir, 'audit-logs', logs[0] ?? ''), 'utf8');
    expect(log).toMatch(
      /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ✅ Done: db_1\.good rows=2000 bytes=\d+ \(0\.\d MB\) seconds=\d+\.\d{3}$/m,
    );
    expect(log).toMatch(
      /⚠️ Done with warnings: db_1\.warn rows=10 .* warnings: source-only columns skipped: "only_here" \[SOURCE_ONLY_COLUMNS\]$/m,
    );
    expect(log).toMatch(
      /❌ Error copying db_1\.clash rows=0 .* error: \[23505\] duplicate key value violates unique constraint/m,
    );
    expect(result.stdout).toContain(`Audit log: ${join(dir, 'audit-logs', logs[0] ?? '')}`);

    const report = JSON.parse(await readFile(reportFile, 'utf8')) as Record<string, unknown> & {
      tables: Record<string, unknown>[];
    };
    expect(report).toMatchObject({
      status: 'error',
      snapshot: expect.stringMatching(/-/) as unknown,
    });
    expect(Object.keys(report.tables[0] ?? {})).toEqual([
      'target',
      'source',
      'table',
      'status',
      'rows',
      'bytes',
      'seconds',
      'strategy',
      'format',
      'mode',
      'columns',
      'skipped',
      'warnings',
      'error',
      'attempts',
      'planHash',
    ]);
    expect(report.tables[2]).toMatchObject({
      table: 'clash',
      status: 'error',
      error: { sqlstate: '23505' },
    });
    // Non-TTY progress: one line when a table starts and one when it ends.
    expect(result.stderr).toContain('started db_1.good (append, binary)');
    expect(result.stderr).toContain('✅ Done: db_1.good');
    expect(result.stdout + result.stderr + log).not.toContain(s.target1.password);
  });

  it('run --dry-run prints the plan and copies nothing; --quiet prints no progress', async () => {
    const { dir, file } = await setup(rawConfig(['warn'], { options: { logDir: 'logs' } }));
    await sql(s.target1, `TRUNCATE ${q}.warn`);
    const dry = await cli(['run', '-c', file, '--dry-run'], { cwd: dir });
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('Target db_1');
    expect((await sql(s.target1, `SELECT count(*)::int AS n FROM ${q}.warn`)).rows[0]).toEqual({
      n: 0,
    });
    const quiet = await cli(['run', '-c', file, '--quiet', '--mode', 'truncate'], { cwd: dir });
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe('');
    expect((await sql(s.target1, `SELECT count(*)::int AS n FROM ${q}.warn`)).rows[0]).toEqual({
      n: 10,
    });
  });

  it('run: a TTY gets a live progress block and overall bar on stderr', async () => {
    const { dir, file } = await setup(rawConfig(['good'], { options: { logDir: 'logs' } }));
    const result = await cli(['run', '-c', file, '--mode', 'truncate'], { cwd: dir, tty: true });
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/\[[#.]{30}\] \d+%\s+\d+\/1 tables/);
  });

  it('run: usage errors for --concurrency and --mode exit 2', async () => {
    const { file } = await setup(rawConfig(['good']));
    expect((await cli(['run', '-c', file, '--concurrency', '0'])).stderr).toBe(
      'pgcopy: --concurrency: expected an integer from 1 to 64, got "0"\n',
    );
    expect((await cli(['run', '-c', file, '--mode', 'merge'])).code).toBe(2);
  });
});

describe('progress on narrow and dumb terminals', () => {
  it('bug: progress lines wider than the terminal broke the redraw; they are cut to its width', async () => {
    const { dir, file } = await setup(rawConfig(['good'], { options: { logDir: 'logs' } }));
    const result = await cli(['run', '-c', file, '--mode', 'truncate'], {
      cwd: dir,
      tty: true,
      columns: 24,
    });
    expect(result.code).toBe(0);
    const bar = result.stderr
      .split('\n')
      .find((line) => line.includes('[#') || line.includes('[.'));
    expect(bar).toBeDefined();
    const escape = String.fromCharCode(27);
    expect(
      bar
        ?.split(escape)
        .at(-1)
        ?.replace(/^\[\d*[AJ]/, ''),
    ).toMatch(/^\[[#.]{21}…$/);
  });

  it('bug: a TTY with TERM=dumb got cursor movements; it gets the plain per-table lines', async () => {
    const { dir, file } = await setup(rawConfig(['good'], { options: { logDir: 'logs' } }));
    const result = await cli(['run', '-c', file, '--mode', 'truncate'], {
      cwd: dir,
      tty: true,
      env: { TERM: 'dumb' },
    });
    expect(result.code).toBe(0);
    expect(result.stderr).not.toContain('\x1b[');
    expect(result.stderr).toMatch(
      /^Run \S+: 1 table\(s\)\nstarted db_1\.good \(truncate, \w+\)\n✅ Done: db_1\.good/,
    );
  });
});

describe('output for machines', () => {
  it('bug: run had no machine output; run --json streams one JSON event per line on stdout, the summary on stderr', async () => {
    const { dir, file } = await setup(
      rawConfig(['good', 'clash'], { options: { logDir: 'logs' } }),
    );
    const result = await cli(['run', '-c', file, '--mode', 'truncate', '--json'], { cwd: dir });
    expect(result.code).toBe(1);
    const lines = result.stdout.trimEnd().split('\n');
    const events = lines.map(
      (line) => JSON.parse(line) as { type: string } & Record<string, unknown>,
    );
    const types = events.map((e) => e.type);
    expect(types[0]).toBe('plan');
    // The target's ledger is readied before the run starts.
    expect(types[1]).toBe('ledger');
    expect(types[2]).toBe('run-start');
    expect(events.every((e) => typeof e['runId'] === 'string')).toBe(true);
    expect(types.at(-1)).toBe('run-end');
    expect(types).toContain('table-done');
    expect(types).toContain('table-failed');
    expect(events[0]).toMatchObject({ plan: { targets: [{ name: 'db_1' }] } });
    const end = events.at(-1) as unknown as { report: { status: string; tables: unknown[] } };
    expect(end.report).toMatchObject({ status: 'error' });
    expect(end.report.tables).toHaveLength(2);
    expect(result.stderr).toContain('2 table(s)');
    expect(result.stderr).toMatch(/Audit log: .*audit_\d{8}_\d{6}\.log\n/);
  });

  it('bug: check had no JSON; check --json prints the findings and the verdict', async () => {
    const { dir, file } = await setup(rawConfig(['good']));
    const result = await cli(['check', '-c', file, '--json'], { cwd: dir });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout) as {
      passed: boolean;
      problems: string[];
      endpoints: { name: string; version: string; missing: string[] }[];
    };
    expect(json.passed).toBe(true);
    expect(json.problems).toEqual([]);
    expect(json.endpoints.map((e) => e.name)).toEqual(['source', 'db_1']);
    expect(json.endpoints[1]?.version).toMatch(/^17\./);
    expect(json.endpoints[1]?.missing).toEqual([]);
  });
});
