import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ItemSummary } from '../../src/lambda/item-summary.js';
import { parseCfnYaml } from '../support/cfn-yaml.js';
import { servers, sql, tableDigest, uniqueName } from '../support/db.js';
import { REGION, type SecretsManagerServer } from '../support/secrets-manager-server.js';
import { secretsConfig, startLambdaSecrets } from '../support/lambda.js';
import { startSshServer, type TestSshServer } from '../support/ssh-server.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const lambdaDist = join(root, 'dist', 'lambda');
const s = servers();
const schema = uniqueName('Lambda_Bundle');
const q = `"${schema}"`;
const passwords = [s.source.password, s.target1.password, s.target2.password];

interface Outcome {
  readonly ok: boolean;
  readonly result?: ItemSummary;
  readonly errorType?: string;
  readonly errorMessage?: string;
}

/** Runs a command without blocking the event loop (the in-process servers must keep answering). */
function exec(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      resolve({ code, stdout, stderr });
    });
  });
}

async function mustExec(command: string, args: readonly string[], cwd = root): Promise<string> {
  const result = await exec(command, args, { cwd });
  if (result.code !== 0) throw new Error(`${command} ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

let work: string;
let sm: SecretsManagerServer;
let ssh: TestSshServer;
let runtime: string;
let handlerName: string;
let runtimeName: string;
/** The official Node 22 build, fetched into .cache/node by scripts/fetch-node.mjs (as CI does). */
let node22: string;

function configFor(): string {
  return JSON.stringify(
    secretsConfig({ env: 'bundle', sm, ssh, schema, tables: { one: ['items'], two: ['items'] } }),
  );
}

/** Invokes `handlerName` in TASK_ROOT in its own Node 22 process, as Lambda's runtime would. */
async function invoke(
  taskRoot: string,
  event: unknown,
  extraEnv: Record<string, string> = {},
): Promise<{ outcome: Outcome; stdout: string; stderr: string }> {
  const eventFile = join(work, 'event.json');
  const resultFile = join(work, 'result.json');
  await writeFile(eventFile, JSON.stringify(event));
  await rm(resultFile, { force: true });
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'],
    HOME: work,
    LAMBDA_TASK_ROOT: taskRoot,
    AWS_LAMBDA_FUNCTION_NAME: 'pgcopy',
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: 'AKIDTESTONLY',
    AWS_SECRET_ACCESS_KEY: 'test-secret-key-not-real',
    AWS_EC2_METADATA_DISABLED: 'true',
    PGCOPY_CONFIG: configFor(),
    ...extraEnv,
  };
  const { stdout, stderr } = await exec(
    node22,
    [runtime, taskRoot, handlerName, eventFile, resultFile, '600000'],
    { cwd: taskRoot, env },
  );
  if (!existsSync(resultFile)) throw new Error(`the runtime wrote no result: ${stderr}`);
  return { outcome: JSON.parse(await readFile(resultFile, 'utf8')) as Outcome, stdout, stderr };
}

/** Every stdout line is one JSON log entry. */
function logLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

beforeAll(async () => {
  // Build once for the suite, as `npm run build:lambda` and `npm run build:layer` do.
  await mustExec(process.execPath, ['scripts/build-lambda.mjs', 'function']);
  await mustExec(process.execPath, ['scripts/build-lambda.mjs', 'layer']);
  const template = parseCfnYaml(await readFile(join(root, 'deploy', 'template.yaml'), 'utf8')) as {
    Resources: { Function: { Properties: { Handler: string; Runtime: string } } };
  };
  ({ Handler: handlerName, Runtime: runtimeName } = template.Resources.Function.Properties);
  node22 = (await mustExec(process.execPath, ['scripts/fetch-node.mjs', '22'])).trim();

  work = await mkdtemp(join(tmpdir(), 'pgcopy-bundle-'));
  runtime = join(work, 'runtime', 'lambda-runtime.mjs');
  await mkdir(dirname(runtime));
  await copyFile(join(root, 'scripts', 'lambda-runtime.mjs'), runtime);
  await mustExec('unzip', ['-q', join(lambdaDist, 'function.zip'), '-d', join(work, 'function')]);
  await mustExec('unzip', ['-q', join(lambdaDist, 'code.zip'), '-d', join(work, 'code')]);
  await mustExec('unzip', ['-q', join(lambdaDist, 'layer.zip'), '-d', join(work, 'opt')]);

  ssh = await startSshServer();
  sm = await startLambdaSecrets('bundle', ssh);
  const items = `CREATE TABLE ${q}.items (id int PRIMARY KEY, name text, price numeric(10,2))`;
  await sql(
    s.source,
    `CREATE SCHEMA ${q}; ${items};
     INSERT INTO ${q}.items SELECT g, 'item ' || g, g * 1.5 FROM generate_series(1, 2000) g;`,
  );
  for (const target of [s.target1, s.target2]) await sql(target, `CREATE SCHEMA ${q}; ${items};`);
}, 180_000);

afterAll(async () => {
  await Promise.all([ssh.stop(), sm.close(), rm(work, { recursive: true, force: true })]);
  for (const server of [s.source, s.target1, s.target2]) {
    await sql(server, `DROP SCHEMA ${q} CASCADE`);
  }
});

describe('the Lambda packagings, loaded as the Lambda Node.js runtime loads them', () => {
  it('runs under the Node.js major that the template names, where no node_modules resolves', async () => {
    const major = /^nodejs(\d+)\.x$/.exec(runtimeName)?.[1];
    expect(major).toBe('22');
    expect((await mustExec(node22, ['--version'])).trim()).toMatch(new RegExp(`^v${major}\\.`));
    for (let dir = work; dirname(dir) !== dir; dir = dirname(dir)) {
      expect(existsSync(join(dir, 'node_modules'))).toBe(false);
    }
  });

  it("function.zip is one file, the template's handler module", async () => {
    const files = (await mustExec('unzip', ['-Z1', join(lambdaDist, 'function.zip')])).split('\n');
    expect(files.filter(Boolean)).toEqual([`${handlerName.split('.')[0] ?? ''}.mjs`]);
    const layer = (await mustExec('unzip', ['-Z1', join(lambdaDist, 'layer.zip')])).split('\n');
    expect(layer.filter(Boolean).every((f) => f.startsWith('nodejs/node_modules/'))).toBe(true);
    expect(layer).toContain('nodejs/node_modules/pg/package.json');
  });

  it('bug: layer.zip shipped test suites with private-key blocks; it ships only what runs', async () => {
    const layer = (await mustExec('unzip', ['-Z1', join(lambdaDist, 'layer.zip')])).split('\n');
    const notRun = /\/(test|tests|__tests__|examples?|bench(mark)?s?|docs|\.github)\//;
    expect(layer.filter((f) => notRun.test(f))).toEqual([]);
    // What is left that names a key block is code that parses or writes keys, never a key.
    const unpacked = join(work, 'opt', 'nodejs', 'node_modules');
    const keyBlock = /-----BEGIN [A-Z ]*PRIVATE KEY-----\r?\n[A-Za-z0-9+/=]{16}/;
    const withKeys: string[] = [];
    for (const item of await readdir(unpacked, { withFileTypes: true, recursive: true })) {
      if (!item.isFile()) continue;
      const path = join(item.parentPath, item.name);
      if (keyBlock.test(await readFile(path, 'latin1'))) withKeys.push(path);
    }
    expect(withKeys).toEqual([]);
  });

  it('function.zip alone copies through Secrets Manager and an SSH tunnel, logging JSON lines', async () => {
    const { outcome, stdout, stderr } = await invoke(join(work, 'function'), { targets: ['one'] });
    expect(outcome.errorMessage).toBeUndefined();
    expect(outcome.result).toMatchObject({ status: 'done', pairs: 1, done: 1, rows: 2000 });
    expect(await tableDigest(s.target1, `SELECT * FROM ${q}.items`)).toEqual(
      await tableDigest(s.source, `SELECT * FROM ${q}.items`),
    );
    const lines = logLines(stdout);
    await writeFile('/tmp/pgcopy-sample.txt', stdout);
    // The bundled Powertools Metrics writes the pair's EMF line beside the log.
    expect(lines.find((l) => '_aws' in l && l['table'] === 'items')).toMatchObject({
      target: 'one',
      Rows: 2000,
      Failures: 0,
    });
    const done = lines.find((l) => l['event'] === 'table-done');
    expect(done).toMatchObject({
      level: 'INFO',
      service: 'pgcopy',
      cold_start: true,
      function_name: 'pgcopy',
      target: 'one',
      table: 'items',
      status: 'done',
      rows: 2000,
    });
    expect(typeof done?.['bytes']).toBe('number');
    expect(typeof done?.['seconds']).toBe('number');
    expect(String(done?.['message'])).toMatch(/^✅ Done: one\.items rows=2000/);
    // The log's entries, then the metrics (the pair's EMF line and the run's).
    expect(lines.map((l) => l['event'] ?? ('_aws' in l ? 'metrics' : undefined))).toEqual([
      'run-start',
      'table-start',
      'table-done',
      'run-end',
      'metrics',
      'metrics',
    ]);
    for (const password of passwords) expect(stdout + stderr).not.toContain(password);
  });

  it('a configuration error reaches Lambda as errorType PgcopyConfig, the name the template does not retry', async () => {
    const { outcome, stderr } = await invoke(join(work, 'function'), { mode: 'merge' });
    expect(outcome).toMatchObject({
      ok: false,
      errorType: 'PgcopyConfig',
      errorMessage: 'event.mode: expected one of append, truncate, upsert, insert-new, got "merge"',
    });
    // Powertools writes warnings and errors to stderr; Lambda sends both streams to CloudWatch.
    expect(logLines(stderr).at(-1)).toMatchObject({
      level: 'ERROR',
      code: 'CONFIG',
      errorType: 'PgcopyConfig',
    });
  });

  it("a table that failed for good reaches Lambda as errorType PgcopyTableFailed; the log lines carry the event's runId", async () => {
    await sql(s.target1, `TRUNCATE ${q}.items; INSERT INTO ${q}.items VALUES (1, 'taken', 0)`);
    const { outcome, stdout, stderr } = await invoke(join(work, 'function'), {
      targets: ['one'],
      mode: 'append',
      runId: 'bundle-run/1',
    });
    expect(outcome).toMatchObject({ ok: false, errorType: 'PgcopyTableFailed' });
    expect(outcome.errorMessage).toContain('one.items: [POSTGRES] duplicate key value');
    const lines = [...logLines(stdout), ...logLines(stderr)];
    expect(lines.map((l) => l['event'])).toContain('run-failed');
    for (const line of lines) expect(line['runId']).toBe('bundle-run/1');
  });

  it('code.zip runs with layer.zip unpacked where Lambda puts layers (through NODE_PATH)', async () => {
    const nodePath = join(work, 'opt', 'nodejs', 'node_modules');
    const { outcome, stdout } = await invoke(
      join(work, 'code'),
      { targets: ['two'] },
      { NODE_PATH: nodePath },
    );
    expect(outcome.errorMessage).toBeUndefined();
    expect(outcome.result).toMatchObject({ status: 'done', pairs: 1, done: 1, rows: 2000 });
    expect(await tableDigest(s.target2, `SELECT * FROM ${q}.items`)).toEqual(
      await tableDigest(s.source, `SELECT * FROM ${q}.items`),
    );
    expect(logLines(stdout).some((l) => l['event'] === 'table-done')).toBe(true);

    const alone = await invoke(join(work, 'code'), { targets: ['two'] });
    expect(alone.outcome.ok).toBe(false);
    expect(alone.outcome.errorMessage).toMatch(
      /Cannot find module '@aws-lambda-powertools\/logger'|Cannot find module '[^']+'/,
    );
  });
});
