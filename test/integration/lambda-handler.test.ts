import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ConfigError, ConnectError, PgcopyError } from '../../src/errors.js';
import { ERROR_TYPES } from '../../src/lambda/error-type.js';
import { handler, PgcopyFunction, type HandlerResult } from '../../src/lambda/handler.js';
import { RunFailedError } from '../../src/lambda/run-failed.js';
import type { ItemSummary } from '../../src/lambda/item-summary.js';
import { RUN_ID_PATTERN } from '../../src/run-id.js';
import { parseCfnYaml } from '../support/cfn-yaml.js';
import { endpointOf } from '../support/config.js';
import { isCopyQuery, servers, sql, tableDigest, uniqueName } from '../support/db.js';
import { fakeContext, recordingLog, secretsConfig, startLambdaSecrets } from '../support/lambda.js';
import type { SecretsManagerServer } from '../support/secrets-manager-server.js';
import { startSshServer, type TestSshServer } from '../support/ssh-server.js';

const s = servers();
const schema = uniqueName('Lambda_Handler');
const q = `"${schema}"`;
const passwords = [s.source.password, s.target1.password, s.target2.password];
const ITEMS = `CREATE TABLE ${q}.items (id int PRIMARY KEY, name text)`;
// Each row waits 2 ms in a trigger on target two: copying `slow` takes ~6 s, so a deadline
// falls in the middle of its COPY.
const SLOW = `CREATE TABLE ${q}.slow (id int, payload text)`;
const SLOW_TRIGGER = `
  CREATE FUNCTION ${q}.slow_row() RETURNS trigger LANGUAGE plpgsql
    AS $$ BEGIN PERFORM pg_catalog.pg_sleep(0.002); RETURN NEW; END $$;
  CREATE TRIGGER slow_row BEFORE INSERT ON ${q}.slow FOR EACH ROW EXECUTE FUNCTION ${q}.slow_row();
  INSERT INTO ${q}.slow VALUES (-1, 'kept');`;

let sm: SecretsManagerServer;
let ssh: TestSshServer;
let config: Record<string, unknown>;

beforeAll(async () => {
  ssh = await startSshServer();
  sm = await startLambdaSecrets('lambda', ssh);
  config = secretsConfig({
    env: 'lambda',
    sm,
    ssh,
    schema,
    tables: { one: ['items'], two: ['items', 'slow'] },
  });
  await sql(
    s.source,
    `CREATE SCHEMA ${q}; ${ITEMS}; ${SLOW};
     INSERT INTO ${q}.items SELECT g, 'item ' || g FROM generate_series(1, 500) g;
     INSERT INTO ${q}.slow SELECT g, md5(g::text) FROM generate_series(1, 3000) g;`,
  );
  await sql(s.target1, `CREATE SCHEMA ${q}; ${ITEMS};`);
  await sql(s.target2, `CREATE SCHEMA ${q}; ${ITEMS}; ${SLOW}; ${SLOW_TRIGGER}`);
});

afterAll(async () => {
  await Promise.all([ssh.stop(), sm.close()]);
  for (const server of [s.source, s.target1, s.target2]) {
    await sql(server, `DROP SCHEMA ${q} CASCADE`);
  }
});

function asReport(result: HandlerResult): ItemSummary {
  if ('dryRun' in result || 'action' in result || 'sync' in result)
    throw new Error("expected a copy's summary");
  return result;
}

/** The error names the deployed state machine retries (deploy/template.yaml, the Copy task). */
function retriedByTemplate(): string[] {
  const template = parseCfnYaml(
    readFileSync(new URL('../../deploy/template.yaml', import.meta.url), 'utf8'),
  ) as {
    Resources: { FanOut: { Properties: { Definition: { States: Record<string, unknown> } } } };
  };
  const map = template.Resources.FanOut.Properties.Definition.States['CopyEach'] as {
    ItemProcessor: { States: { Copy: { Retry: { ErrorEquals: string[] }[] } } };
  };
  return map.ItemProcessor.States.Copy.Retry.flatMap((r) => r.ErrorEquals);
}

const itemsDigest = () => tableDigest(s.source, `SELECT * FROM ${q}.items`);

describe('the Lambda handler, invoked in-process', () => {
  const log = recordingLog();
  let fn: PgcopyFunction;

  beforeAll(() => {
    fn = new PgcopyFunction({ env: { PGCOPY_CONFIG: JSON.stringify(config) }, logger: log });
  });

  it('copies through Secrets Manager and an SSH tunnel, returns the summary and logs each event', async () => {
    const result = asReport(await fn.invoke({ tables: ['items'] }, fakeContext()));
    expect(result).toMatchObject({
      status: 'done',
      pairs: 2,
      done: 2,
      failed: 0,
      rows: 1000,
      failedPairs: [],
      more: 0,
    });
    const expected = await itemsDigest();
    expect(await tableDigest(s.target1, `SELECT * FROM ${q}.items`)).toEqual(expected);
    expect(await tableDigest(s.target2, `SELECT * FROM ${q}.items`)).toEqual(expected);
    expect(ssh.forwards).toBeGreaterThan(0);
    expect(sm.count('BatchGetSecretValue') + sm.count('GetSecretValue')).toBeGreaterThan(0);

    const done = log.entries.filter((e) => e.attributes['event'] === 'table-done');
    expect(done.map((e) => [e.level, e.attributes['target'], e.attributes['table']])).toEqual(
      expect.arrayContaining([
        ['info', 'one', 'items'],
        ['info', 'two', 'items'],
      ]),
    );
    for (const entry of done) {
      expect(entry.message).toMatch(/^✅ Done: (one|two)\.items rows=500/);
      expect(entry.attributes).toMatchObject({ status: 'done', rows: 500 });
      expect(entry.attributes['bytes']).toBeGreaterThan(0);
      expect(typeof entry.attributes['seconds']).toBe('number');
    }
    const kinds = log.entries.map((e) => e.attributes['event']);
    expect(kinds[0]).toBe('run-start');
    expect(kinds.at(-1)).toBe('run-end');
    const output = JSON.stringify({ log: log.entries, result });
    for (const password of passwords) expect(output).not.toContain(password);
  });

  it('reuses the parsed config and the Secrets Manager client on a warm invocation', async () => {
    await fn.invoke({ tables: ['items'], targets: ['one'] }, fakeContext());
    expect(fn.configs.parses).toBe(1);
    expect(fn.secrets.clients).toBe(1);
  });

  it('narrows to the event targets; a dry run returns the plan and writes nothing', async () => {
    await sql(s.target1, `DELETE FROM ${q}.items WHERE id > 10`);
    const result = await fn.invoke(
      { targets: ['one'], tables: ['items'], dryRun: true },
      fakeContext(),
    );
    expect(result).toMatchObject({ dryRun: true });
    const plan = (result as { plan: { targets: { name: string }[] } }).plan;
    expect(plan.targets.map((t) => t.name)).toEqual(['one']);
    expect((await tableDigest(s.target1, `SELECT * FROM ${q}.items`)).count).toBe(10);
  });

  it('a failed table fails the invocation with the report summary; the event mode applies', async () => {
    await sql(s.target1, `TRUNCATE ${q}.items; INSERT INTO ${q}.items VALUES (1, 'taken')`);
    const before = await tableDigest(s.target1, `SELECT * FROM ${q}.items`);
    const error = (await fn
      .invoke({ targets: ['one'], tables: ['items'], mode: 'append' }, fakeContext())
      .catch((e: unknown) => e)) as RunFailedError;
    expect(error).toBeInstanceOf(RunFailedError);
    // A duplicate key fails again at every attempt: the template does not retry it.
    expect(error.name).toBe(ERROR_TYPES.tableFailed);
    expect(retriedByTemplate()).not.toContain(error.name);
    expect(error.code).toBe('RUN_FAILED');
    expect(error.message).toMatch(/^1 of 1 table\(s\) failed \(0 done, 0 done with warnings/);
    expect(error.message).toContain('one.items: [POSTGRES] duplicate key value');
    expect(error.summary).toMatchObject({ status: 'error', tables: 1, errors: 1 });
    expect(error.report.tables[0]?.mode).toBe('append');
    expect(await tableDigest(s.target1, `SELECT * FROM ${q}.items`)).toEqual(before);
    const failed = log.entries.filter((e) => e.attributes['event'] === 'table-failed');
    expect(failed.at(-1)?.level).toBe('error');
    expect(failed.at(-1)?.message).toMatch(/^❌ Error copying one\.items/);
  });

  it('stops before the time limit: the running table rolls back and is reported TIMEOUT by name', async () => {
    const timed = new PgcopyFunction({
      env: { PGCOPY_CONFIG: JSON.stringify(config), PGCOPY_TIMEOUT_MARGIN_MS: '1000' },
      logger: log,
    });
    const before = await tableDigest(s.target2, `SELECT * FROM ${q}.slow`);
    // The abort falls ~3 s in, while `slow` is copying: the running COPY is cancelled on the
    // server, so the invocation ends within seconds, not after the backend drains its backlog.
    const started = Date.now();
    const error = (await timed
      .invoke({ targets: ['two'] }, fakeContext(4000))
      .catch((e: unknown) => e)) as RunFailedError;
    expect(Date.now() - started).toBeLessThan(4000 + 2500);
    expect(error).toBeInstanceOf(RunFailedError);
    expect(error.name).toBe(ERROR_TYPES.timeLimit);
    expect(retriedByTemplate()).not.toContain(error.name);
    expect(error.code).toBe('TIMEOUT');
    expect(error.message).toContain(
      'did not finish before the Lambda time limit (rolled back, or not started; nothing written): two.slow',
    );
    const byTable = Object.fromEntries(error.report.tables.map((t) => [t.table, t]));
    expect(byTable['items']?.status).toBe('done');
    expect(byTable['slow']?.error).toEqual({
      code: 'TIMEOUT',
      message:
        'timed out (stopped 1.0 s before the Lambda time limit); the target transaction was rolled back',
    });
    expect(await tableDigest(s.target2, `SELECT * FROM ${q}.slow`)).toEqual(before);
    const { rows } = await sql(
      s.target2,
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE ${isCopyQuery('query', q)}`,
    );
    expect(rows[0]).toEqual({ n: 0 });
  });

  it('with less time left than the margin, fails TIMEOUT before any table and writes nothing', async () => {
    const before = await tableDigest(s.target2, `SELECT * FROM ${q}.slow`);
    const error = (await fn
      .invoke({ targets: ['two'], tables: ['slow'] }, fakeContext(5_000))
      .catch((e: unknown) => e)) as PgcopyError;
    expect(error).toBeInstanceOf(PgcopyError);
    expect(error.name).toBe(ERROR_TYPES.timeLimit);
    expect(error.code).toBe('TIMEOUT');
    expect(error.message).toBe(
      'timed out (stopped 10.0 s before the Lambda time limit) before any table was copied; nothing was written',
    );
    expect(await tableDigest(s.target2, `SELECT * FROM ${q}.slow`)).toEqual(before);
  });
});

describe('run ids', () => {
  it("the event's run id is in the result and on every log line; without one, one is made", async () => {
    const log = recordingLog();
    const fn = new PgcopyFunction({
      env: { PGCOPY_CONFIG: JSON.stringify(config) },
      logger: log,
      now: () => new Date('2026-12-06T21:47:00.000Z'),
    });
    const event = { targets: ['one'], tables: ['items'] };
    const given = asReport(
      await fn.invoke({ ...event, runId: 'nightly:2026-12-06/0' }, fakeContext()),
    );
    expect(given.runId).toBe('nightly:2026-12-06/0');
    expect(log.entries.map((e) => e.attributes['event'])).toEqual([
      'run-start',
      'table-start',
      'table-done',
      'run-end',
    ]);
    for (const entry of log.entries) expect(entry.attributes['runId']).toBe('nightly:2026-12-06/0');

    log.entries.length = 0;
    const made = asReport(await fn.invoke(event, fakeContext()));
    expect(made.runId).toMatch(/^20261206T214700Z-[0-9a-f]{6}$/);
    expect(log.entries.length).toBe(4);
    for (const entry of log.entries) expect(entry.attributes['runId']).toBe(made.runId);
    const again = asReport(await fn.invoke(event, fakeContext()));
    expect(again.runId).not.toBe(made.runId);

    expect(
      await fn.invoke({ ...event, dryRun: true, runId: 'check-1' }, fakeContext()),
    ).toMatchObject({ dryRun: true, runId: 'check-1' });
  });
});

describe('errorType: whether a new invocation may pass, for the state machine', () => {
  const log = recordingLog();
  /** The deployed config in append mode, with no retry inside the run. */
  const once = (): PgcopyFunction =>
    new PgcopyFunction({
      env: {
        PGCOPY_CONFIG: JSON.stringify({ ...config, options: { mode: 'append', retries: 0 } }),
      },
      logger: log,
    });

  /** Waits for pgcopy's COPY into `slow` on target two, and ends its backend (as a failover would). */
  async function terminateSlowCopy(): Promise<void> {
    for (const until = Date.now() + 20_000; Date.now() < until;) {
      const { rows } = await sql(
        s.target2,
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE application_name = 'pgcopy' AND ${isCopyQuery()}
            AND strpos(query, $1) > 0 AND strpos(query, 'slow') > 0`,
        [schema],
      );
      if (rows.length > 0) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error('no COPY into slow to terminate');
  }

  function closedPort(): Promise<number> {
    return new Promise((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
  }

  const direct = (source: Record<string, unknown>): PgcopyFunction =>
    new PgcopyFunction({
      env: {
        PGCOPY_CONFIG: JSON.stringify({
          source: { ...endpointOf(s.source, schema), ...source },
          targets: [{ name: 'one', ...endpointOf(s.target1, schema), tables: ['items'] }],
          options: { mode: 'append' },
        }),
      },
      logger: log,
    });

  it('a table whose connection was cut mid-COPY is PgcopyTransient, which the template retries', async () => {
    const before = await tableDigest(s.target2, `SELECT * FROM ${q}.slow`);
    const pending = once()
      .invoke({ targets: ['two'], tables: ['slow'], runId: 'cut-1' }, fakeContext())
      .catch((e: unknown) => e);
    await terminateSlowCopy();
    const error = (await pending) as RunFailedError;
    expect(error).toBeInstanceOf(RunFailedError);
    expect(error.report.tables.map((t) => [t.table, t.status, t.error?.transient])).toEqual([
      ['slow', 'error', true],
    ]);
    expect(error.name).toBe(ERROR_TYPES.transient);
    expect(retriedByTemplate()).toContain(error.name);
    expect(await tableDigest(s.target2, `SELECT * FROM ${q}.slow`)).toEqual(before);
    expect(log.entries.at(-1)?.attributes).toMatchObject({
      event: 'run-failed',
      code: 'RUN_FAILED',
      errorType: ERROR_TYPES.transient,
      runId: 'cut-1',
    });
  });

  it('bug: a retried item appended its committed table again: three invocations with the same runId copy it once, and the duplicate key fails with an errorType the template does not retry', async () => {
    await sql(s.target1, `TRUNCATE ${q}.items; INSERT INTO ${q}.items VALUES (1, 'taken')`);
    await sql(s.target2, `TRUNCATE ${q}.items`);
    const event = { tables: ['items'], mode: 'append', runId: 'exec-once-0' };
    const outcomes: RunFailedError[] = [];
    for (let i = 0; i < 3; i += 1) {
      outcomes.push(
        (await once()
          .invoke(event, fakeContext())
          .catch((e: unknown) => e)) as RunFailedError,
      );
    }
    for (const error of outcomes) {
      expect(error).toBeInstanceOf(RunFailedError);
      expect(error.name).toBe(ERROR_TYPES.tableFailed);
      expect(retriedByTemplate()).not.toContain(error.name);
      expect(error.report.runId).toBe('exec-once-0');
    }
    const two = (error: RunFailedError) => error.report.tables.find((t) => t.target === 'two');
    expect(two(outcomes[0] as RunFailedError)).toMatchObject({ status: 'done', rows: 500 });
    for (const again of outcomes.slice(1)) {
      expect(two(again)).toMatchObject({
        status: 'done',
        rows: 0,
        resumed: true,
        committedBefore: { rows: 500 },
      });
    }
    // 500 rows once, not 1,500.
    expect(await tableDigest(s.target2, `SELECT * FROM ${q}.items`)).toEqual(await itemsDigest());
  });

  it('bug: a duplicate key was retried with the cut table: one table failed for good makes the run PgcopyTableFailed', async () => {
    await sql(s.target1, `TRUNCATE ${q}.items; INSERT INTO ${q}.items VALUES (1, 'taken')`);
    await sql(s.target2, `TRUNCATE ${q}.items`);
    const pending = once()
      .invoke({ tables: ['items', 'slow'] }, fakeContext())
      .catch((e: unknown) => e);
    await terminateSlowCopy();
    const error = (await pending) as RunFailedError;
    expect(error).toBeInstanceOf(RunFailedError);
    const outcomes = error.report.tables.map((t) => [
      `${t.target}.${t.table}`,
      t.status,
      t.error?.transient === true,
    ]);
    expect(outcomes).toEqual(
      expect.arrayContaining([
        ['one.items', 'error', false],
        ['two.items', 'done', false],
        ['two.slow', 'error', true],
      ]),
    );
    expect(error.name).toBe(ERROR_TYPES.tableFailed);
    expect(retriedByTemplate()).not.toContain(error.name);
    const failed = log.entries.at(-1)?.attributes;
    expect(failed).toMatchObject({ event: 'run-failed', errorType: ERROR_TYPES.tableFailed });
    expect(String(failed?.['runId'])).toMatch(RUN_ID_PATTERN);
  });

  it('a source that refuses connections is PgcopyTransient; one that refuses the login is PgcopyConfig', async () => {
    const refused = (await direct({ port: await closedPort() })
      .invoke({}, fakeContext())
      .catch((e: unknown) => e)) as Error;
    expect(refused).toBeInstanceOf(ConnectError);
    expect(refused.message).toMatch(/^cannot connect to /);
    expect(refused.name).toBe(ERROR_TYPES.transient);

    const login = (await direct({ password: 'not-the-password' })
      .invoke({}, fakeContext())
      .catch((e: unknown) => e)) as Error;
    expect(login).toBeInstanceOf(ConnectError);
    expect(login.message).toMatch(/password authentication failed/);
    expect(login.name).toBe(ERROR_TYPES.config);
    expect(retriedByTemplate()).not.toContain(login.name);
  });
});

describe('configuration errors fail at once, naming the key path', () => {
  const cases: [string, Record<string, string>, unknown, string][] = [
    [
      'an invalid PGCOPY_CONFIG',
      { PGCOPY_CONFIG: 'source: {}\ntargets: []' },
      {},
      'PGCOPY_CONFIG: ',
    ],
    [
      'invalid YAML in the event',
      { PGCOPY_EVENT_CONFIG: 'allow' },
      { config: 'source: [' },
      'event.config: invalid YAML',
    ],
    ['no config anywhere', { PGCOPY_CONFIG: '' }, undefined, 'config: none given'],
    [
      'a missing config file',
      { PGCOPY_CONFIG: '', PGCOPY_CONFIG_FILE: 'missing.yaml', LAMBDA_TASK_ROOT: '/nonexistent' },
      {},
      'PGCOPY_CONFIG_FILE: cannot read /nonexistent/missing.yaml (ENOENT)',
    ],
    ['an event that is not an object', {}, 'run', 'event: expected an object, got "run"'],
    [
      'an unknown event key',
      {},
      { table: ['items'] },
      'event.table: unknown key (expected one of config, targets, tables, mode, dryRun, runId, action, budgetBytes, verify, resume, estimatedBytes, pairs, sync)',
    ],
    [
      'a sync event narrowed by tables',
      {},
      { sync: true, tables: ['items'] },
      'event.tables: a sync event takes only config (a catch-up follows every table of the config)',
    ],
    [
      'a sync flag that is not a boolean',
      {},
      { sync: 'yes' },
      'event.sync: expected true or false, got "yes"',
    ],
    [
      'a run id that is not a string',
      {},
      { runId: 42 },
      'event.runId: expected a run id (a string), got 42',
    ],
    [
      'a run id with characters a run id may not hold',
      {},
      { runId: "nightly'; --" },
      'event.runId: expected a run id (1 to 128 of the characters A-Z a-z 0-9 . _ : / -), got "nightly\'; --"',
    ],
    [
      'a run id longer than 128 characters',
      {},
      { runId: 'r'.repeat(129) },
      'event.runId: expected a run id (1 to 128 of the characters A-Z a-z 0-9 . _ : / -), got "rrr',
    ],
    [
      'an unknown mode',
      {},
      { mode: 'merge' },
      'event.mode: expected one of append, truncate, upsert, insert-new, got "merge"',
    ],
    [
      'dryRun not a boolean',
      {},
      { dryRun: 'yes' },
      'event.dryRun: expected true or false, got "yes"',
    ],
    [
      'tables not a list',
      {},
      { tables: 'items' },
      'event.tables: expected a list of names, got "items"',
    ],
    [
      'a target name that is not a string',
      {},
      { targets: [1] },
      'event.targets[0]: expected a name, got 1',
    ],
    [
      'an unknown target',
      {},
      { targets: ['one', 'three'] },
      'event.targets[1]: no target named "three" (targets: one, two)',
    ],
    [
      'an unknown table',
      {},
      { tables: ['nope'] },
      'event.tables[0]: no table named "nope" in any target',
    ],
    [
      'a bad time margin',
      { PGCOPY_TIMEOUT_MARGIN_MS: '10s' },
      {},
      'PGCOPY_TIMEOUT_MARGIN_MS: expected a whole number of milliseconds, got "10s"',
    ],
  ];

  it.each(cases)('%s', async (_name, env, event, message) => {
    const fn = new PgcopyFunction({
      env: { PGCOPY_CONFIG: JSON.stringify(config), ...env },
      logger: recordingLog(),
    });
    const requests = sm.requests.length;
    const error = (await fn.invoke(event, fakeContext()).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.name).toBe(ERROR_TYPES.config);
    expect(retriedByTemplate()).not.toContain(error.name);
    expect(error.message.startsWith(message)).toBe(true);
    expect(sm.requests.length).toBe(requests);
  });
});

describe('where the config comes from', () => {
  const direct = () => ({
    source: endpointOf(s.source, schema),
    targets: [{ name: 'one', ...endpointOf(s.target1, schema), tables: ['items'] }],
    options: { mode: 'truncate' },
  });

  it("where the deployment allows it, the event's config (an object) wins over PGCOPY_CONFIG", async () => {
    const fn = new PgcopyFunction({
      env: { PGCOPY_CONFIG: 'not: [valid', PGCOPY_EVENT_CONFIG: 'allow' },
      logger: recordingLog(),
    });
    const report = asReport(await fn.invoke({ config: direct() }, fakeContext()));
    expect(report).toMatchObject({ status: 'done', pairs: 1, done: 1, rows: 500 });
  });

  it('a dry run whose plan refuses a table fails, naming it', async () => {
    const config = direct();
    const fn = new PgcopyFunction({
      env: { PGCOPY_EVENT_CONFIG: 'allow' },
      logger: recordingLog(),
    });
    const error = (await fn
      .invoke(
        {
          config: { ...config, targets: [{ ...config.targets[0], tables: ['missing'] }] },
          dryRun: true,
        },
        fakeContext(),
      )
      .catch((e: unknown) => e)) as PgcopyError;
    expect(error).toBeInstanceOf(PgcopyError);
    expect(error.name).toBe(ERROR_TYPES.tableFailed);
    expect(error.code).toBe('PLAN');
    expect(error.message).toMatch(/^dry run: 1 table\(s\) cannot be copied: one\.missing: /);
  });

  it('PGCOPY_CONFIG_FILE is a YAML file relative to the function root', async () => {
    const root = await mkdtemp(join(tmpdir(), 'pgcopy-lambda-'));
    try {
      await writeFile(join(root, 'pgcopy.json'), JSON.stringify(direct()));
      const fn = new PgcopyFunction({
        env: { PGCOPY_CONFIG_FILE: 'pgcopy.json', LAMBDA_TASK_ROOT: root },
        logger: recordingLog(),
      });
      await fn.invoke({ dryRun: true }, fakeContext());
      await fn.invoke({ dryRun: true }, fakeContext());
      expect(fn.configs.parses).toBe(1);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('the exported handler logs JSON lines through Powertools on stdout', async () => {
    vi.stubEnv('PGCOPY_CONFIG', JSON.stringify(direct()));
    const lines: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      const report = asReport(await handler({}, fakeContext()));
      expect(report.status).toBe('done');
    } finally {
      write.mockRestore();
      vi.unstubAllEnvs();
    }
    const entries = lines
      .join('')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const done = entries.find((e) => e['event'] === 'table-done');
    expect(String(done?.['runId'])).toMatch(RUN_ID_PATTERN);
    expect(done).toMatchObject({
      level: 'INFO',
      service: 'pgcopy',
      function_request_id: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
      target: 'one',
      status: 'done',
      rows: 500,
    });
    expect(String(done?.['message'])).toMatch(/^✅ Done: one\.items/);
    expect(lines.join('')).not.toContain(s.source.password);
  });
});

describe('bug: an event rewrote the deployed config (its ${VAR} read the function environment, its host received a secret)', () => {
  const direct = (): Record<string, unknown> => ({
    source: endpointOf(s.source, schema),
    targets: [{ name: 'one', ...endpointOf(s.target1, schema), tables: ['items'] }],
    options: { mode: 'append' },
  });
  const awsKey = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
  let deployed: Record<string, string>;
  beforeAll(() => {
    deployed = { PGCOPY_CONFIG: JSON.stringify(config), AWS_SECRET_ACCESS_KEY: awsKey };
  });

  async function refusal(env: Record<string, string>, event: unknown): Promise<Error> {
    const fn = new PgcopyFunction({ env, logger: recordingLog() });
    const requests = sm.requests.length;
    const error = (await fn.invoke(event, fakeContext()).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.name).toBe(ERROR_TYPES.config);
    // Refused before any secret is read or any server is reached.
    expect(sm.requests.length).toBe(requests);
    expect(`${error.message}\n${error.stack ?? ''}`).not.toContain(awsKey);
    return error;
  }

  it('a config in the event is refused where the deployment did not turn events configs on', async () => {
    for (const env of [
      deployed,
      { AWS_SECRET_ACCESS_KEY: awsKey },
      { ...deployed, PGCOPY_EVENT_CONFIG: 'deny' },
    ]) {
      const error = await refusal(env, { config: direct() });
      expect(error.message).toMatch(
        /^event\.config: refused: this function runs the config it was deployed with/,
      );
    }
  });

  it('with event configs on, ${VAR} anywhere in the event config is refused, naming where', async () => {
    const env = { ...deployed, PGCOPY_EVENT_CONFIG: 'allow' };
    const config = direct();
    const bad = {
      ...config,
      source: { ...(config['source'] as object), host: '${AWS_SECRET_ACCESS_KEY}' },
    };
    const error = await refusal(env, { config: bad });
    expect(error.message).toMatch(
      /^event\.config\.source\.host: \$\{VAR\} is not allowed in an event's config/,
    );
    const inText = await refusal(env, {
      config: `source:\n  host: x\ntargets:\n  - name: "\${HOME}"`,
    });
    expect(inText.message).toMatch(/^event\.config\.targets\[0\]\.name: \$\{VAR\}/);
  });

  it.each([
    [
      'sslrootcert',
      { sslmode: 'verify-full', sslrootcert: '/etc/ssl/certs/ca-certificates.crt' },
      'event.config.source.sslrootcert: not allowed',
    ],
    ['a service', { service: 'prod' }, 'event.config.source.service: not allowed'],
    [
      'an SSH key file',
      {
        ssh: {
          host: '127.0.0.1',
          port: 22,
          user: 'x',
          fingerprint: 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
          keyFile: '/var/task/key',
        },
      },
      'event.config.source.ssh.keyFile: not allowed',
    ],
    [
      'a client certificate file',
      { sslmode: 'require', sslcert: '/var/task/client.crt', sslkey: '/var/task/client.key' },
      'event.config.source.sslcert: not allowed',
    ],
    [
      'auth: iam (the function role signs)',
      { sslmode: 'require', auth: 'iam', region: 'eu-west-1' },
      "event.config.source.auth: iam is not allowed in an event's config",
    ],
  ])(
    'with event configs on, %s is refused (a file or the role of the function)',
    async (_what, fields, message) => {
      const config = direct();
      const event = {
        config: { ...config, source: { ...(config['source'] as object), ...fields } },
      };
      const error = await refusal({ ...deployed, PGCOPY_EVENT_CONFIG: 'allow' }, event);
      expect(error.message.startsWith(message)).toBe(true);
    },
  );

  it('with event configs on, secrets come only from the allowlist, never with a host of the event', async () => {
    const env = {
      ...deployed,
      PGCOPY_EVENT_CONFIG: 'allow',
      PGCOPY_EVENT_SECRETS: 'pgcopy/lambda/one',
    };
    const withSecrets = (source: Record<string, unknown>): unknown => ({
      config: {
        secrets: { provider: 'aws', prefix: 'pgcopy', env: 'lambda', region: 'ap-southeast-2' },
        source: { schema, sslmode: 'disable', ...source },
        targets: [{ name: 'one', secret: 'one', schema, sslmode: 'disable', tables: ['items'] }],
      },
    });
    const operators = await refusal(env, withSecrets({ secret: 'source' }));
    expect(operators.message).toBe(
      'event.config.source: secret "pgcopy/lambda/source" is not one an event may use (PGCOPY_EVENT_SECRETS: pgcopy/lambda/one)',
    );
    const byId = await refusal(
      env,
      withSecrets({ secretId: 'arn:aws:secretsmanager:x:1:secret:prod' }),
    );
    expect(byId.message).toMatch(
      /^event\.config\.source: secret "arn:aws:secretsmanager:x:1:secret:prod" is not one/,
    );
    const allowed = { ...env, PGCOPY_EVENT_SECRETS: 'pgcopy/lambda/*' };
    const elsewhere = await refusal(
      allowed,
      withSecrets({ secret: 'source', host: '203.0.113.9' }),
    );
    expect(elsewhere.message).toMatch(/^event\.config\.source\.host: not allowed beside a secret/);
    for (const field of [{ port: 6543 }, { serverAddress: { host: '203.0.113.9', port: 5432 } }]) {
      const error = await refusal(allowed, withSecrets({ secret: 'source', ...field }));
      expect(error.message).toMatch(/: not allowed beside a secret/);
    }
  });

  it('with event configs on, a secrets provider that reads the function (env, file) or another endpoint is refused', async () => {
    const env = { ...deployed, PGCOPY_EVENT_CONFIG: 'allow', PGCOPY_EVENT_SECRETS: 'pgcopy/*' };
    const cases: [Record<string, unknown>, string][] = [
      [{ provider: 'env' }, 'event.config.secrets.provider: "env" is not allowed'],
      [
        { provider: 'file', file: '/var/task/secrets.json' },
        'event.config.secrets.provider: "file" is not allowed',
      ],
      [
        { provider: 'aws', endpoint: 'https://collector.example' },
        'event.config.secrets.endpoint: not allowed',
      ],
    ];
    for (const [secrets, message] of cases) {
      const error = await refusal(env, { config: { ...direct(), secrets } });
      expect(error.message.startsWith(message)).toBe(true);
    }
  });

  it("with event configs on, the function's PG* variables and password file are not the event's", async () => {
    const config = direct();
    const noPassword = Object.fromEntries(
      Object.entries(config['source'] as Record<string, unknown>).filter(([k]) => k !== 'password'),
    );
    const fn = new PgcopyFunction({
      env: { PGCOPY_EVENT_CONFIG: 'allow', PGPASSWORD: s.source.password, PGHOST: s.source.host },
      logger: recordingLog(),
    });
    const error = (await fn
      .invoke({ config: { ...config, source: noPassword }, dryRun: true }, fakeContext())
      .catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toMatch(/password/);
    expect(error.message).not.toContain(s.source.password);
  });

  it('an event may ask for a less destructive mode, and for a more destructive one only where the deployment lists it', async () => {
    // The deployed config truncates: insert-new, append and upsert destroy less.
    const narrowing = new PgcopyFunction({ env: deployed, logger: recordingLog() });
    for (const mode of ['insert-new', 'append', 'upsert']) {
      const result = await narrowing.invoke(
        { mode, dryRun: true, targets: ['one'] },
        fakeContext(),
      );
      expect(result).toMatchObject({ dryRun: true });
    }
    const appendOnly = {
      ...deployed,
      PGCOPY_CONFIG: JSON.stringify({ ...config, options: { mode: 'append' } }),
    };
    for (const mode of ['upsert', 'truncate']) {
      const error = await refusal(appendOnly, { mode, dryRun: true });
      expect(error.message).toBe(
        `event.mode: "${mode}" is more destructive than the deployment's config allows (append); list it in PGCOPY_EVENT_MODES (the template parameter EventModes) to allow it`,
      );
    }
    const listed = new PgcopyFunction({
      env: { ...appendOnly, PGCOPY_EVENT_MODES: 'truncate' },
      logger: recordingLog(),
    });
    const result = await listed.invoke(
      { mode: 'truncate', dryRun: true, targets: ['one'] },
      fakeContext(),
    );
    expect(result).toMatchObject({ dryRun: true });
  });

  it("errors returned to the invoker carry no value of the function's environment, whatever put it there", async () => {
    const config = direct();
    // The operator's own config sends a secret variable where a host name goes: the error names the variable.
    const leaky = {
      ...config,
      source: { ...(config['source'] as object), host: '${AWS_SECRET_ACCESS_KEY}' },
    };
    const fn = new PgcopyFunction({
      env: { PGCOPY_CONFIG: JSON.stringify(leaky), AWS_SECRET_ACCESS_KEY: awsKey },
      logger: recordingLog(),
    });
    const error = (await fn
      .invoke({ dryRun: true }, fakeContext())
      .catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(Error);
    expect(`${error.message}\n${error.stack ?? ''}`).not.toContain(awsKey);
    expect(error.message).toContain('${AWS_SECRET_ACCESS_KEY}');
  });
});

/** The EMF lines among what was written to stdout. */
function emfLines(written: string[]): Record<string, unknown>[] {
  return written
    .join('')
    .split('\n')
    .filter((line) => line.includes('"_aws"'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** An EMF document as CloudWatch reads it: every named metric and dimension is a field. */
function checkEmf(doc: Record<string, unknown>): void {
  const aws = doc['_aws'] as {
    Timestamp: number;
    CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[];
  };
  expect(typeof aws.Timestamp).toBe('number');
  for (const directive of aws.CloudWatchMetrics) {
    expect(directive.Namespace).toBe('pgcopy');
    for (const name of directive.Dimensions.flat()) expect(typeof doc[name]).toBe('string');
    for (const metric of directive.Metrics) expect(typeof doc[metric.Name]).toBe('number');
  }
}

describe('metrics, verify and resume in the event', () => {
  const log = recordingLog();
  let fn: PgcopyFunction;

  beforeAll(() => {
    fn = new PgcopyFunction({ env: { PGCOPY_CONFIG: JSON.stringify(config) }, logger: log });
  });

  async function capturing<T>(call: () => Promise<T>): Promise<{ value: T; written: string[] }> {
    const written: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    try {
      return { value: await call(), written };
    } finally {
      write.mockRestore();
    }
  }

  it("a run's EMF lines carry the report's rows, bytes, seconds and failures, per pair and per run", async () => {
    await sql(s.target2, `DELETE FROM ${q}.items`);
    await sql(s.target1, `TRUNCATE ${q}.items; INSERT INTO ${q}.items VALUES (1, 'taken')`);
    log.entries.length = 0;
    const { value: error, written } = await capturing(() =>
      fn.invoke({ tables: ['items'], mode: 'append', runId: 'metrics-1' }, fakeContext()).then(
        () => undefined,
        (e: unknown) => e as RunFailedError,
      ),
    );
    if (!error) throw new Error('expected the invocation to fail');
    expect(error).toBeInstanceOf(RunFailedError);
    const docs = emfLines(written);
    docs.forEach(checkEmf);
    for (const t of error.report.tables) {
      const doc = docs.find((d) => d['target'] === t.target && d['table'] === t.table);
      expect(doc).toMatchObject({
        service: 'pgcopy',
        runId: 'metrics-1',
        status: t.status,
        Rows: t.rows,
        Bytes: t.bytes,
        Failures: t.status === 'error' ? 1 : 0,
      });
      expect(doc?.['Seconds']).toBeCloseTo(t.seconds, 6);
    }
    expect(error.report.tables.map((t) => [t.target, t.status])).toEqual([
      ['one', 'error'],
      ['two', 'done'],
    ]);
    const run = docs.filter((d) => d['table'] === undefined);
    expect(run).toHaveLength(1);
    expect(run[0]).toMatchObject({
      runId: 'metrics-1',
      Pairs: 2,
      Rows: 500,
      Bytes: error.report.tables.reduce((sum, t) => sum + t.bytes, 0),
      Failures: 1,
    });
    // The logged per-table figures are the same ones.
    const done = log.entries.find((e) => e.attributes['event'] === 'table-done');
    expect(done?.attributes['bytes']).toBe(
      docs.find((d) => d['target'] === 'two' && d['table'] === 'items')?.['Bytes'],
    );
  });

  it('resume: an earlier report in the event skips its done pairs under its run id', async () => {
    await sql(s.target2, `DELETE FROM ${q}.items`);
    await sql(s.target1, `TRUNCATE ${q}.items; INSERT INTO ${q}.items VALUES (1, 'taken')`);
    const failed = (await fn
      .invoke({ tables: ['items'], mode: 'append', runId: 'resume-1' }, fakeContext())
      .catch((e: unknown) => e)) as RunFailedError;
    expect(failed).toBeInstanceOf(RunFailedError);
    await sql(s.target1, `TRUNCATE ${q}.items`);
    // As a state machine passes it: JSON, no class.
    const report: unknown = JSON.parse(JSON.stringify(failed.report));
    const resumed = asReport(
      await fn.invoke({ tables: ['items'], mode: 'append', resume: report }, fakeContext()),
    );
    expect(resumed).toMatchObject({ runId: 'resume-1', status: 'done', done: 1, skipped: 1 });
    expect((await tableDigest(s.target2, `SELECT * FROM ${q}.items`)).count).toBe(500);
    expect(await tableDigest(s.target1, `SELECT * FROM ${q}.items`)).toEqual(await itemsDigest());

    await expect(
      fn.invoke({ tables: ['items'], resume: report, runId: 'other' }, fakeContext()),
    ).rejects.toThrow('event.runId: other differs from the run id of event.resume (resume-1)');
    const elsewhere = { ...(report as object), configId: 'another-deployment' };
    await expect(
      fn.invoke({ tables: ['items'], resume: elsewhere }, fakeContext()),
    ).rejects.toThrow('event.resume: the report was written by a run between other databases');
    await expect(fn.invoke({ resume: { tables: 3 } }, fakeContext())).rejects.toThrow(
      /^event\.resume: the report is not a pgcopy run report/,
    );
    await expect(fn.invoke({ resume: 'report.json' }, fakeContext())).rejects.toThrow(
      'event.resume: expected a run report (the object a run wrote), got "report.json"',
    );
  });

  it('verify: each table is verified against the source before its COMMIT', async () => {
    log.entries.length = 0;
    const result = asReport(
      await fn.invoke({ tables: ['items'], targets: ['one'], verify: true }, fakeContext()),
    );
    expect(result).toMatchObject({ status: 'done', done: 1 });
    const done = log.entries.find((e) => e.attributes['event'] === 'table-done');
    expect(done?.message).toMatch(/ verified=500 rows in /);
    await expect(fn.invoke({ verify: 'yes' }, fakeContext())).rejects.toThrow(
      'event.verify: expected true or false, got "yes"',
    );
  });
});
