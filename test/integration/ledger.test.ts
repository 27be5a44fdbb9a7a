import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/copy/run.js';
import { VERSION } from '../../src/version.js';
import type { LocalPostgres } from '../../src/demo/local-postgres.js';
import type { RunEvent, RunReport } from '../../src/report/events.js';
import { cli, workDir } from '../support/cli.js';
import { endpointOf, testConfig } from '../support/config.js';
import { servers, sql, tableDigest, uniqueName } from '../support/db.js';
import { startPreparingTarget } from '../support/prepared-target.js';
import { result } from '../support/report.js';
import type { ServerInfo } from '../support/server-info.js';

// The ledger on each target: made on first use, read by history, pruned past its retention;
// where the role may not make it, the run goes on and says what guarantee is lost.
const schema = uniqueName('Ledger');
const q = `"${schema}"`;
const ledgerSchema = uniqueName('ledger');
const s = servers();
const role = uniqueName('no_ledger').toLowerCase();
const password = 'ledger-test-password';

beforeAll(async () => {
  await sql(
    s.source,
    `CREATE SCHEMA ${q};
     CREATE TABLE ${q}.t (id int PRIMARY KEY, v text);
     INSERT INTO ${q}.t SELECT g, 'v' || g FROM generate_series(1, 300) g;`,
  );
  await sql(
    s.target1,
    `CREATE SCHEMA ${q}; CREATE TABLE ${q}.t (id int, v text);
     CREATE ROLE ${role} LOGIN PASSWORD '${password}';
     GRANT USAGE ON SCHEMA ${q} TO ${role}; GRANT INSERT, SELECT ON ${q}.t TO ${role};`,
  );
});

afterAll(async () => {
  await sql(s.source, `DROP SCHEMA ${q} CASCADE`);
  await sql(
    s.target1,
    `DROP SCHEMA ${q} CASCADE; DROP SCHEMA IF EXISTS "${ledgerSchema}" CASCADE; DROP ROLE ${role}`,
  );
});

function rawConfig(target: ServerInfo, options: Record<string, unknown> = {}): unknown {
  return {
    source: endpointOf(s.source, schema),
    targets: [{ name: 'db_1', ...endpointOf(target, schema), tables: ['t'] }],
    options: { mode: 'append', logDir: 'logs', ledgerSchema, ...options },
  };
}

async function copy(
  runId: string,
  options: Record<string, unknown> = {},
  target: ServerInfo = s.target1,
): Promise<{ report: RunReport; events: RunEvent[] }> {
  const events: RunEvent[] = [];
  const config = testConfig(
    { server: s.source, schema },
    [{ name: 'db_1', server: target, schema, tables: ['t'] }],
    { mode: 'append', ledgerSchema, ...options },
  );
  const outcome = await run(config, { runId, onEvent: (e) => events.push(e) });
  return { report: outcome.report as RunReport, events };
}

const ledgerEvent = (events: RunEvent[]) =>
  events.find((e): e is Extract<RunEvent, { type: 'ledger' }> => e.type === 'ledger');

describe('the ledger', () => {
  it('plan and check print one ledger line per target (two targets were printed on one line joined by a literal \\n)', async () => {
    await sql(s.target2, `CREATE SCHEMA ${q}; CREATE TABLE ${q}.t (id int, v text)`);
    const base = rawConfig(s.target1) as { targets: Record<string, unknown>[] };
    const work = await workDir({
      ...base,
      targets: [...base.targets, { name: 'db_2', ...endpointOf(s.target2, schema), tables: ['t'] }],
    });
    try {
      for (const command of ['plan', 'check']) {
        const out = await cli([command, '-c', work.file], { cwd: work.dir });
        const lines = out.stdout.split('\n').filter((l) => /^Target db_\d: ledger/.test(l));
        expect(
          lines.map((l) => l.slice(0, 'Target db_1'.length)),
          out.stdout,
        ).toEqual(['Target db_1', 'Target db_2']);
        expect(out.stdout).not.toContain('\\n');
      }
    } finally {
      await work.cleanup();
      await sql(
        s.target2,
        `DROP SCHEMA ${q} CASCADE; DROP SCHEMA IF EXISTS "${ledgerSchema}" CASCADE`,
      );
    }
  });

  it('is made on first use; history lists the runs as the target recorded them; rows past ledgerKeepDays are removed when a run starts', async () => {
    await sql(s.target1, `TRUNCATE ${q}.t`);
    await copy('old-run');
    await copy('new-run');
    await sql(
      s.target1,
      `UPDATE "${ledgerSchema}".ledger SET committed_at = now() - interval '40 days' WHERE run_id = 'old-run'`,
    );
    const work = await workDir(rawConfig(s.target1));
    try {
      const listed = await cli(['history', '-c', work.file, '--json'], { cwd: work.dir });
      expect(listed.code, listed.stderr).toBe(0);
      const runs = (
        JSON.parse(listed.stdout) as {
          targets: { name: string; runs: { runId: string; tables: number; rows: number }[] }[];
        }
      ).targets[0]?.runs;
      expect(runs?.map((r) => [r.runId, r.tables, r.rows])).toEqual([
        ['new-run', 1, 300],
        ['old-run', 1, 300],
      ]);
      // plan reads the ledger's state where its schema and table exist (a quoted schema name
      // given to has_schema_privilege failed the probe there).
      const plan = await cli(['plan', '-c', work.file], { cwd: work.dir });
      expect(plan.stdout).toContain(`Target db_1: ledger "${ledgerSchema}"."ledger": ready`);
      const text = await cli(['history', '-c', work.file], { cwd: work.dir });
      expect(text.stdout).toMatch(
        /^TARGET\s+RUN ID\s+LAST COMMIT\s+TABLES\s+ROWS\ndb_1\s+new-run\s/,
      );

      // The next run removes what is older than 30 days (never its own run's rows).
      const third = await copy('third-run');
      expect(ledgerEvent(third.events)).toMatchObject({ available: true, pruned: 1, committed: 0 });
      const after = await cli(['history', '-c', work.file, '--json', '--limit', '5'], {
        cwd: work.dir,
      });
      expect(after.stdout).not.toContain('old-run');
      expect(after.stdout).toContain('third-run');
    } finally {
      await work.cleanup();
    }
  });

  it('a role that may not make it: the run goes on and says the guarantee it loses; a re-run under the same run id copies again', async () => {
    await sql(s.target1, `TRUNCATE ${q}.t`);
    const limited = { ...s.target1, user: role, password };
    const options = { ledgerSchema: `${ledgerSchema}_none` };
    const first = await copy('limited-run', options, limited);
    expect(result(first.report, 't')).toMatchObject({ status: 'done', rows: 300 });
    const said = ledgerEvent(first.events);
    expect(said).toMatchObject({ available: false, target: 'db_1' });
    expect(said?.reason).toContain('could not be created');
    // Nothing of the target says the table committed: the same run id copies it again.
    const again = await copy('limited-run', options, limited);
    expect(result(again.report, 't')).toMatchObject({ status: 'done', rows: 300 });
    expect((await sql(s.target1, `SELECT count(*)::int AS n FROM ${q}.t`)).rows[0]).toEqual({
      n: 600,
    });
    // plan and check say it before a run.
    const work = await workDir(rawConfig(limited, options));
    try {
      const plan = await cli(['plan', '-c', work.file], { cwd: work.dir });
      expect(plan.stdout).toContain('ledger: unavailable');
      expect(plan.stdout).toContain('cannot tell which of its tables this run committed');
      const check = await cli(['check', '-c', work.file, '--json'], { cwd: work.dir });
      expect(check.stdout).toContain('cannot tell which of its tables this run committed');
    } finally {
      await work.cleanup();
    }
  });
});

describe('every strategy records the pair with its rows, in their transaction', () => {
  for (const strategy of ['stream', 'dblink', 'fdw', 'fdw-push'] as const) {
    it(`${strategy}: the ledger holds the pair, and the same run id again skips it (no row twice)`, async () => {
      await sql(s.target1, `TRUNCATE ${q}.t`);
      const runId = `strategy-${strategy}`;
      const options = { strategy, createExtensions: true };
      const first = await copy(runId, options);
      expect(result(first.report, 't')).toMatchObject({ status: 'done', rows: 300 });
      const { rows } = await sql(
        s.target1,
        `SELECT source_table, target_schema, target_table, mode, rows::int AS rows, pgcopy_version
           FROM "${ledgerSchema}".ledger WHERE run_id = $1`,
        [runId],
      );
      expect(rows).toEqual([
        {
          source_table: 't',
          target_schema: schema,
          target_table: 't',
          mode: 'append',
          rows: 300,
          pgcopy_version: VERSION,
        },
      ]);
      const again = await copy(runId, options);
      expect(result(again.report, 't')).toMatchObject({
        status: 'done',
        rows: 0,
        resumed: true,
        committedBefore: { rows: 300 },
      });
      expect((await sql(s.target1, `SELECT count(*)::int AS n FROM ${q}.t`)).rows[0]).toEqual({
        n: 300,
      });
    });
  }
});

describe('a table read once for two targets, verified', () => {
  it('each target records its own pair; the same run id again skips both (no row twice)', async () => {
    await sql(s.target1, `TRUNCATE ${q}.t`);
    await sql(
      s.target2,
      `DROP SCHEMA IF EXISTS ${q} CASCADE; CREATE SCHEMA ${q}; CREATE TABLE ${q}.t (id int, v text)`,
    );
    try {
      const config = testConfig(
        { server: s.source, schema },
        [
          { name: 'db_1', server: s.target1, schema, tables: ['t'] },
          {
            name: 'db_2',
            server: s.target2,
            schema,
            tables: ['t'],
          },
        ],
        { mode: 'append', ledgerSchema },
      );
      const events: RunEvent[] = [];
      const first = await run(config, {
        runId: 'read-once',
        verify: true,
        onEvent: (e) => events.push(e),
      });
      // One read feeds both targets.
      expect(first.plan.readOnce?.shared.map((r) => r.source)).toEqual(['t']);
      expect(first.report?.tables).toHaveLength(2);
      for (const t of first.report?.tables ?? []) {
        expect([t.status, t.rows, t.verified?.rows, t.warnings]).toEqual(['done', 300, 300, []]);
      }
      const again = await run(config, { runId: 'read-once', verify: true });
      for (const t of again.report?.tables ?? []) {
        expect(t).toMatchObject({ rows: 0, resumed: true, committedBefore: { rows: 300 } });
      }
      for (const server of [s.target1, s.target2]) {
        expect((await sql(server, `SELECT count(*)::int AS n FROM ${q}.t`)).rows[0]).toEqual({
          n: 300,
        });
      }
    } finally {
      await sql(
        s.target2,
        `DROP SCHEMA IF EXISTS ${q} CASCADE; DROP SCHEMA IF EXISTS "${ledgerSchema}" CASCADE`,
      );
    }
  });
});

describe("pgcopy's own leftovers", () => {
  let own: LocalPostgres;
  let target: ServerInfo;

  beforeAll(async () => {
    ({ server: own, info: target } = await startPreparingTarget('leftover-target'));
    await sql(target, `CREATE SCHEMA ${q}; CREATE TABLE ${q}.t (id int, v text);`);
  }, 60_000);

  afterAll(async () => {
    await own.stop();
  });

  it('are settled by a truncate-mode run that splits nothing, before its table waits on their locks', async () => {
    // Two parts an earlier run left prepared: one whose table committed (its first part's
    // transaction did), one whose table failed (its first part's rolled back).
    const committedXid = (await sql(target, 'SELECT txid_current()::text AS x')).rows[0] as {
      x: string;
    };
    const client = await (await import('../support/db.js')).connect(target);
    let abortedXid: string;
    try {
      await client.query('BEGIN');
      abortedXid = (
        (await client.query('SELECT txid_current()::text AS x')).rows[0] as { x: string }
      ).x;
      await client.query('ROLLBACK');
      await client.query(`BEGIN; INSERT INTO ${q}.t VALUES (-1, 'kept')`);
      await client.query(`PREPARE TRANSACTION 'pgcopy_0123456789ab_x${committedXid.x}_t_2'`);
      await client.query(`BEGIN; INSERT INTO ${q}.t VALUES (-2, 'dropped')`);
      await client.query(`PREPARE TRANSACTION 'pgcopy_0123456789ab_x${abortedXid}_t_2b'`);
    } finally {
      await client.end();
    }
    const { report, events } = await copy(
      'truncate-run',
      { mode: 'truncate', lockTimeout: '10s' },
      target,
    );
    expect(result(report, 't')).toMatchObject({ status: 'done', rows: 300 });
    expect(events.find((e) => e.type === 'prepared-settled')).toMatchObject({
      committed: [`pgcopy_0123456789ab_x${committedXid.x}_t_2`],
      rolledBack: [`pgcopy_0123456789ab_x${abortedXid}_t_2b`],
    });
    expect((await sql(target, 'SELECT count(*)::int AS n FROM pg_prepared_xacts')).rows[0]).toEqual(
      { n: 0 },
    );
    expect(await tableDigest(target, `SELECT * FROM ${q}.t ORDER BY id`)).toEqual(
      await tableDigest(s.source, `SELECT * FROM ${q}.t ORDER BY id`),
    );
  });
});
