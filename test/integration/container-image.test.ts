import { chown, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endpointOf } from '../support/config.js';
import {
  ARCHIVE,
  IMAGE,
  PODMAN_RUN,
  ensureImage,
  exec,
  missingContainerTools,
  type Exec,
} from '../support/container-image.js';
import { connect, servers, sql, tableDigest, uniqueName } from '../support/db.js';
import { secretsConfig, startLambdaSecrets } from '../support/lambda.js';
import { REGION, type SecretsManagerServer } from '../support/secrets-manager-server.js';
import { startSshServer, type TestSshServer } from '../support/ssh-server.js';

const s = servers();
const schema = uniqueName('Container_Image');
const q = `"${schema}"`;
/** The image's user (scripts/build-image.mjs). */
const UID = 65532;

// CI installs podman and buildah (.ci/run), so there the test must run: only elsewhere may it skip.
const missing = missingContainerTools();
const skip = missing.length > 0 && process.env['CI'] !== 'true';

/** The config as an ECS task definition would hold it: passwords as ${VAR}, from its secrets. */
function configFor(tables: string[]): string {
  return JSON.stringify({
    source: { ...endpointOf(s.source, schema), password: '${SOURCE_PASSWORD}' },
    targets: [
      {
        name: 'db_1',
        ...endpointOf(s.target1, schema),
        password: '${TARGET_PASSWORD}',
        tables,
      },
    ],
    options: { retries: 0 },
  });
}

const passwords = { SOURCE_PASSWORD: s.source.password, TARGET_PASSWORD: s.target1.password };

/**
 * `podman run IMAGE ...args`, each of `env` passed by name only (`-e NAME`), as ECS passes a task's
 * environment and secrets: their values stay out of podman's command line.
 */
function runImage(
  args: readonly string[],
  env: Record<string, string>,
  options: readonly string[] = [],
): Promise<Exec> {
  const passed = Object.keys(env).flatMap((name) => ['-e', name]);
  return exec('podman', [...PODMAN_RUN, ...passed, ...options, IMAGE, ...args], {
    PATH: process.env['PATH'],
    ...env,
  });
}

let work: string;
let sm: SecretsManagerServer | undefined;
let ssh: TestSshServer | undefined;

describe.skipIf(skip)('the container image (npm run build:image), run with podman', () => {
  beforeAll(async () => {
    if (missing.length > 0) throw new Error(`${missing.join(', ')} not installed: see .ci/run`);
    const seconds = await ensureImage();
    console.log(
      seconds === undefined ? `${IMAGE}: reused` : `${IMAGE}: built in ${seconds.toFixed(1)} s`,
    );
    work = await mkdtemp(join(tmpdir(), 'pgcopy-image-'));
    const items = `CREATE TABLE ${q}.items (id int PRIMARY KEY, name text, price numeric(10,2))`;
    await sql(
      s.source,
      `CREATE SCHEMA ${q}; ${items}; CREATE TABLE ${q}.refused (id int PRIMARY KEY);
       INSERT INTO ${q}.items SELECT g, 'item ' || g, g * 1.5 FROM generate_series(1, 2000) g;
       INSERT INTO ${q}.refused SELECT generate_series(1, 10);`,
    );
    // The target refuses every row of "refused": its copy fails, and the run exits 1.
    await sql(
      s.target1,
      `CREATE SCHEMA ${q}; ${items}; CREATE TABLE ${q}.refused (id int PRIMARY KEY CHECK (id < 0));`,
    );
    await sql(s.target2, `CREATE SCHEMA ${q}; ${items};`);
  }, 600_000);

  afterAll(async () => {
    await Promise.all([ssh?.stop(), sm?.close()]);
    if (work) await rm(work, { recursive: true, force: true });
    for (const server of [s.source, s.target1, s.target2]) {
      await sql(server, `DROP SCHEMA IF EXISTS ${q} CASCADE`);
    }
  });

  it('is small, has no shell, runs as uid 65532 with the CLI as its entrypoint, and is archived', async () => {
    const inspected = await exec('podman', ['image', 'inspect', IMAGE]);
    const [image] = JSON.parse(inspected.stdout) as {
      Size: number;
      Config: { User: string; Entrypoint: string[]; WorkingDir: string };
    }[];
    expect(image?.Config.User).toBe(`${UID}:${UID}`);
    expect(image?.Config.Entrypoint).toEqual(['/usr/local/bin/node', '/app/pgcopy.mjs']);
    expect(image?.Config.WorkingDir).toBe('/work');
    console.log(`${IMAGE}: ${((image?.Size ?? 0) / 1024 / 1024).toFixed(1)} MiB`);
    expect(image?.Size).toBeLessThan(150 * 1024 * 1024);
    expect((await stat(ARCHIVE)).size).toBeGreaterThan(0);

    const version = await runImage(['--version'], {});
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^pgcopy \d/);
    // Node warns here when NODE_EXTRA_CA_CERTS names a bundle it cannot read.
    expect(version.stderr).toBe('');
    for (const shell of ['/bin/sh', '/bin/bash', '/usr/bin/env']) {
      const tried = await exec('podman', [...PODMAN_RUN, '--entrypoint', shell, IMAGE, '-c', 'id']);
      expect(tried.code, shell).not.toBe(0);
    }
  });

  it('copies a table with its config and passwords in environment variables, as an ECS task does; its audit log belongs to uid 65532', async () => {
    const mounted = await mkdtemp(join(work, 'workdir-'));
    await chown(mounted, UID, UID);
    const env = { PGCOPY_CONFIG: configFor(['items']), ...passwords };
    const result = await runImage(['run'], env, ['-v', `${mounted}:/work`]);
    expect(result.stderr).not.toContain(s.target1.password);
    expect(result.stdout).not.toContain(s.target1.password);
    expect(result.code, result.stderr).toBe(0);
    expect(await tableDigest(s.target1, `SELECT * FROM ${q}.items`)).toEqual(
      await tableDigest(s.source, `SELECT * FROM ${q}.items`),
    );
    expect((await tableDigest(s.target1, `SELECT * FROM ${q}.items`)).count).toBe(2000);

    const logs = await readdir(join(mounted, 'log'));
    expect(logs.length).toBeGreaterThan(0);
    for (const log of logs) expect((await stat(join(mounted, 'log', log))).uid).toBe(UID);
  });

  it('exits 2 on a config error (a password variable the task does not set)', async () => {
    const result = await runImage(['run'], {
      PGCOPY_CONFIG: configFor(['items']),
      SOURCE_PASSWORD: s.source.password,
    });
    expect(result.stderr).toContain(
      'PGCOPY_CONFIG: targets[0].password: environment variable TARGET_PASSWORD is not set',
    );
    expect(result.code).toBe(2);
  });

  it('exits 1 when a table fails, with the config in a file mounted read-only', async () => {
    const file = join(work, 'pgcopy.json');
    await writeFile(file, configFor(['items', 'refused']), { mode: 0o644 });
    await sql(s.target1, `TRUNCATE ${q}.items`);
    const result = await runImage(['run', '-c', '/config/pgcopy.json'], passwords, [
      '-v',
      `${file}:/config/pgcopy.json:ro`,
    ]);
    expect(result.stderr).toContain('refused');
    expect(result.code, result.stderr).toBe(1);
    expect((await tableDigest(s.target1, `SELECT * FROM ${q}.items`)).count).toBe(2000);
    expect((await tableDigest(s.target1, `SELECT * FROM ${q}.refused`)).count).toBe(0);
  });

  it('reads its endpoints from Secrets Manager and reaches the source through an SSH tunnel, on a read-only root', async () => {
    await sql(s.target1, `TRUNCATE ${q}.items`);
    ssh = await startSshServer();
    sm = await startLambdaSecrets('image', ssh);
    const tables = { one: ['items'], two: ['items'] };
    const config = secretsConfig({ env: 'image', sm, ssh, schema, tables });
    const result = await runImage(
      ['run'],
      {
        PGCOPY_CONFIG: JSON.stringify(config),
        // What an ECS task role gives the SDK, in the form the tests can give it.
        AWS_ACCESS_KEY_ID: 'AKIDTESTONLY',
        AWS_SECRET_ACCESS_KEY: 'test-secret-key-not-real',
        AWS_REGION: REGION,
        AWS_EC2_METADATA_DISABLED: 'true',
      },
      // A read-only root file system, as a hardened task runs it: the audit log needs only /work
      // (a tmpfs that podman gives the image's user with :U).
      ['--read-only', '--tmpfs', '/work:U'],
    );
    expect(result.code, result.stderr).toBe(0);
    const copied = await tableDigest(s.source, `SELECT * FROM ${q}.items`);
    expect(copied.count).toBe(2000);
    for (const target of [s.target1, s.target2]) {
      expect(await tableDigest(target, `SELECT * FROM ${q}.items`)).toEqual(copied);
    }
    expect(ssh.connections).toBeGreaterThan(0);
  });

  it('ends at SIGTERM (as ECS stops a task) with exit 143, rolling the target back', async () => {
    await sql(s.target1, `TRUNCATE ${q}.items; INSERT INTO ${q}.items VALUES (-1, 'kept', 0)`);
    const holder = await connect(s.target1);
    const name = `pgcopy-test-${schema.toLowerCase().replaceAll('_', '-')}`;
    try {
      // A lock the copy waits for: it is still running when the signal comes.
      await holder.query(`BEGIN; LOCK TABLE ${q}.items IN ACCESS EXCLUSIVE MODE`);
      const running = runImage(['run'], { PGCOPY_CONFIG: configFor(['items']), ...passwords }, [
        '--name',
        name,
      ]);
      // This table's lock, not the server's: other test files' copies may wait on locks too.
      const waiting = async (): Promise<boolean> => {
        const found = await sql(
          s.target1,
          `SELECT 1 FROM pg_locks WHERE NOT granted AND relation = $1::regclass`,
          [`${q}.items`],
        );
        return found.rowCount !== 0;
      };
      await expect.poll(waiting, { timeout: 30_000, interval: 200 }).toBe(true);
      const started = Date.now();
      const killed = await exec('podman', ['kill', '--signal', 'TERM', name]);
      expect(killed.code, killed.stderr).toBe(0);
      const result = await running;
      expect(result.code, result.stderr).toBe(143);
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
    const kept = await sql(s.target1, `SELECT id FROM ${q}.items`);
    expect(kept.rows).toEqual([{ id: -1 }]);
  });
});

if (skip) {
  const reason = `${missing.join(' and ')} not installed (apt-get install buildah podman runc; .ci/run installs them)`;
  console.warn(`container image tests skipped: ${reason}`);
  describe('the container image', () => {
    it.skip(`is not tested here: ${reason}`, () => undefined);
  });
}
