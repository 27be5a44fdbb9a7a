/* eslint-disable security/detect-non-literal-fs-filename -- the demo and test harness manage their own temp directories. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { runCli } from '../cli/main.js';
import { embeddedBinDir } from './binaries.js';
import { SOURCE_SQL, TARGET1_SQL, TARGET2_SQL, demoConfigYaml } from './example-data.js';
import { startLocalPostgres, type LocalPostgres } from './local-postgres.js';

async function execute(server: LocalPostgres, sql: string): Promise<void> {
  const client = new pg.Client(server.url());
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/**
 * `npm run demo`: starts three embedded PostgreSQL 17 servers, creates the example tables, prints the
 * plan, runs the copy with progress, prints the summary and the audit log's path, stops the servers.
 */
async function demo(): Promise<number> {
  const say = (text: string): void => void process.stdout.write(`\n== ${text}\n`);
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort(new Error('SIGINT')));
  const servers: LocalPostgres[] = [];
  const configDir = await mkdtemp(join(tmpdir(), 'pgcopy-demo-'));
  try {
    say('Starting embedded PostgreSQL servers (source, db_1, db_2)');
    const started = Date.now();
    const bin = embeddedBinDir();
    servers.push(
      ...(await Promise.all(
        ['source', 'db_1', 'db_2'].map((name) => startLocalPostgres({ binDir: bin, name })),
      )),
    );
    const [source, target1, target2] = servers as [LocalPostgres, LocalPostgres, LocalPostgres];
    process.stdout.write(
      `   started in ${Date.now() - started} ms on ports ${servers.map((s) => s.port).join(', ')}\n`,
    );

    say('Creating example tables and loading sample data (1,000,000 rows in snapshot.traffic)');
    await Promise.all([
      execute(source, SOURCE_SQL),
      execute(target1, TARGET1_SQL),
      execute(target2, TARGET2_SQL),
    ]);

    const configFile = join(configDir, 'pgcopy.yaml');
    await writeFile(
      configFile,
      demoConfigYaml({ source: source.port, target1: target1.port, target2: target2.port }),
    );
    const io = {
      stdout: process.stdout,
      stderr: process.stderr,
      env: {
        ...process.env,
        DEMO_SOURCE_PASSWORD: source.password,
        DEMO_TARGET1_PASSWORD: target1.password,
        DEMO_TARGET2_PASSWORD: target2.password,
      },
      signal: controller.signal,
    };
    say(`pgcopy plan -c ${configFile}`);
    await runCli(['plan', '-c', configFile], io);
    say(`pgcopy run -c ${configFile}`);
    return await runCli(['run', '-c', configFile], io);
  } finally {
    say('Stopping the servers');
    await Promise.allSettled(servers.map((s) => s.stop()));
    await rm(configDir, { recursive: true, force: true });
  }
}

process.exitCode = await demo();
