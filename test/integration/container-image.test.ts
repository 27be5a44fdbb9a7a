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
import { servers, sql, tableDigest, uniqueName } from '../support/db.js';

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
  mounts: readonly string[] = [],
): Promise<Exec> {
  const passed = Object.keys(env).flatMap((name) => ['-e', name]);
  const volumes = mounts.flatMap((m) => ['-v', m]);
  return exec('podman', [...PODMAN_RUN, ...passed, ...volumes, IMAGE, ...args], {
    PATH: process.env['PATH'],
    ...env,
  });
}

let work: string;

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
  }, 600_000);

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
    await sql(s.source, `DROP SCHEMA IF EXISTS ${q} CASCADE`);
    await sql(s.target1, `DROP SCHEMA IF EXISTS ${q} CASCADE`);
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
    for (const shell of ['/bin/sh', '/bin/bash', '/usr/bin/env']) {
      const tried = await exec('podman', [...PODMAN_RUN, '--entrypoint', shell, IMAGE, '-c', 'id']);
      expect(tried.code, shell).not.toBe(0);
    }
  });

  it('copies a table with its config and passwords in environment variables, as an ECS task does; its audit log belongs to uid 65532', async () => {
    const mounted = await mkdtemp(join(work, 'workdir-'));
    await chown(mounted, UID, UID);
    const env = { PGCOPY_CONFIG: configFor(['items']), ...passwords };
    const result = await runImage(['run'], env, [`${mounted}:/work`]);
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
      `${file}:/config/pgcopy.json:ro`,
    ]);
    expect(result.stderr).toContain('refused');
    expect(result.code, result.stderr).toBe(1);
    expect((await tableDigest(s.target1, `SELECT * FROM ${q}.items`)).count).toBe(2000);
    expect((await tableDigest(s.target1, `SELECT * FROM ${q}.refused`)).count).toBe(0);
  });
});

describe.skipIf(!skip)('the container image', () => {
  it.skip(`is not tested here: ${missing.join(' and ')} not installed (apt-get install buildah podman runc; .ci/run installs them)`, () =>
    undefined);
});
