import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, workDir } from '../support/cli.js';
import { endpointOf } from '../support/config.js';
import { servers, sql, uniqueName } from '../support/db.js';

// The habits of the command line, run in-process (runCli) against real servers: completion,
// help, suggestions, --ascii, --verbose and --debug, --json's last line, and --resume's decisions
// where the target has no ledger.
const schema = uniqueName('Habits');
const q = `"${schema}"`;
const s = servers();
let work: Awaited<ReturnType<typeof workDir>>;
const config = (options: Record<string, unknown> = {}): unknown => ({
  source: endpointOf(s.source, schema),
  targets: [{ name: 'db_1', ...endpointOf(s.target1, schema), tables: ['a', 'b'] }],
  options: { mode: 'append', logDir: 'logs', ...options },
});

beforeAll(async () => {
  await sql(
    s.source,
    `CREATE SCHEMA ${q};
     CREATE TABLE ${q}.a (id int PRIMARY KEY); INSERT INTO ${q}.a SELECT generate_series(1, 20);
     CREATE TABLE ${q}.b (id int PRIMARY KEY); INSERT INTO ${q}.b SELECT generate_series(1, 20);`,
  );
  await sql(
    s.target1,
    `CREATE SCHEMA ${q}; CREATE TABLE ${q}.a (id int); CREATE TABLE ${q}.b (id int);`,
  );
  work = await workDir(config());
});

afterAll(async () => {
  await work.cleanup();
  await sql(s.source, `DROP SCHEMA ${q} CASCADE`);
  await sql(s.target1, `DROP SCHEMA ${q} CASCADE`);
});

describe('the command line, in-process', () => {
  it('completion scripts for each shell; an unknown shell is a usage error', async () => {
    for (const shell of ['bash', 'zsh', 'fish']) {
      const result = await cli(['completion', shell]);
      expect(result.code, shell).toBe(0);
      expect(result.stdout, shell).toContain('concurrency');
    }
    expect((await cli(['completion', 'tcsh'])).code).toBe(2);
    expect((await cli(['completion'])).code).toBe(2);
  });

  it('help COMMAND, suggestions for commands and flags, -V', async () => {
    expect((await cli(['help', 'run'])).stdout).toContain('--run-id ID');
    expect((await cli(['help'])).stdout).toContain('Usage:');
    const typo = await cli(['help', 'rnu']);
    expect([typo.code, typo.stderr]).toEqual([2, expect.stringContaining('did you mean "run"?')]);
    expect((await cli(['verfiy'])).stderr).toContain('did you mean "verify"?');
    expect((await cli(['run', '--concurency', '2'])).stderr).toContain(
      'did you mean --concurrency?',
    );
    expect((await cli(['-V'])).stdout).toMatch(/^pgcopy \d/);
  });

  it('--ascii, --verbose and --debug on plan and run; --json ends with run-end', async () => {
    const plan = await cli(['plan', '--ascii', '--debug', '-c', work.file], { cwd: work.dir });
    expect(plan.code, plan.stderr).toBe(0);
    expect(Buffer.from(plan.stdout).every((byte) => byte < 128)).toBe(true);
    expect(plan.stderr).toMatch(/debug: source: /);
    expect(plan.stderr).not.toContain(s.source.password);
    const verbose = await cli(
      ['run', '--verbose', '-c', work.file, '--json', '--run-id', 'habit-1'],
      {
        cwd: work.dir,
      },
    );
    expect(verbose.code, verbose.stderr).toBe(0);
    const last = JSON.parse(verbose.stdout.trimEnd().split('\n').at(-1) ?? '{}') as {
      type?: string;
      runId?: string;
    };
    expect(last).toMatchObject({ type: 'run-end', runId: 'habit-1' });
    const failed = await cli(['run', '-c', join(work.dir, 'missing.yaml'), '--json']);
    expect(failed.code).toBe(2);
    expect(JSON.parse(failed.stdout.trimEnd().split('\n').at(-1) ?? '{}')).toMatchObject({
      type: 'error',
    });
  });

  it('--resume where the target has no ledger: the report decides; an unknown outcome is refused, a different --run-id too', async () => {
    const noLedger = join(work.dir, 'no-ledger.yaml');
    await writeFile(noLedger, JSON.stringify(config({ ledger: false })));
    await sql(s.target1, `TRUNCATE ${q}.a, ${q}.b`);
    const first = await cli(['run', '-c', noLedger, '--quiet', '--report', 'r1.json'], {
      cwd: work.dir,
    });
    expect(first.code, first.stderr).toBe(0);
    // Mark b's outcome unknown, as a commit whose answer was lost leaves it.
    const report = JSON.parse(
      await (await import('node:fs/promises')).readFile(join(work.dir, 'r1.json'), 'utf8'),
    ) as { runId: string; tables: { table: string; status: string }[] };
    for (const t of report.tables) if (t.table === 'b') t.status = 'unknown';
    await writeFile(join(work.dir, 'r2.json'), JSON.stringify(report));
    const resumed = await cli(['run', '-c', noLedger, '--resume', 'r2.json'], { cwd: work.dir });
    expect(resumed.code).toBe(1);
    expect(resumed.stderr).toContain('Skipped db_1.a: done in the report of');
    expect(resumed.stdout).toContain('its COMMIT');
    expect((await sql(s.target1, `SELECT count(*)::int AS n FROM ${q}.a`)).rows[0]).toEqual({
      n: 20,
    });
    const other = await cli(['run', '-c', noLedger, '--resume', 'r2.json', '--run-id', 'another'], {
      cwd: work.dir,
    });
    expect([other.code, other.stderr]).toEqual([2, expect.stringContaining('leave out --run-id')]);
    const bad = await cli(['run', '-c', noLedger, '--run-id', 'a b'], { cwd: work.dir });
    expect([bad.code, bad.stderr]).toEqual([2, expect.stringContaining('expected a run id')]);
  });

  it('history: runs per target, --limit and --target checked', async () => {
    const listed = await cli(['history', '-c', work.file, '--target', 'db_1', '--limit', '5'], {
      cwd: work.dir,
    });
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain('habit-1');
    expect((await cli(['history', '-c', work.file, '--limit', '0'], { cwd: work.dir })).code).toBe(
      2,
    );
    expect(
      (await cli(['history', '-c', work.file, '--target', 'nope'], { cwd: work.dir })).stderr,
    ).toContain('no target is named "nope"');
  });
});
