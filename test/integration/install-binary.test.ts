import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InstalledCopyFixture, mustRun, runProcess } from '../support/installed-copy.js';

// The single executable (`npm run build:binary`), run as on a machine with no Node.js: copied alone
// into an empty folder, with PATH naming only that folder and nothing else in the environment.

const root = fileURLToPath(new URL('../..', import.meta.url));
const built = join(root, 'dist', 'bin', 'pgcopy-linux-x64');
const { version } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as {
  version: string;
};

/** The newest modification time among what the executable is built from. */
async function newestInput(): Promise<number> {
  const files = [
    join(root, 'scripts', 'build-binary.mjs'),
    join(root, 'package-lock.json'),
    ...(await readdir(join(root, 'src'), { recursive: true, withFileTypes: true }))
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name)),
  ];
  const times = await Promise.all(files.map(async (f) => (await stat(f)).mtimeMs));
  return Math.max(...times);
}

/** CI builds the executable once before the tests (.ci/run); elsewhere it is built when stale. */
async function freshBinary(): Promise<void> {
  const builtAt = await stat(built).then(
    (s) => s.mtimeMs,
    () => 0,
  );
  if (builtAt > (await newestInput())) return;
  await mustRun(process.execPath, ['scripts/build-binary.mjs'], { cwd: root });
}

let work: string;
let binDir: string;
let fixture: InstalledCopyFixture;
/** Only the executable's own folder: no node, no shell, nothing of the developer's setup. */
let env: NodeJS.ProcessEnv;

describe.skipIf(process.platform !== 'linux' || process.arch !== 'x64')(
  'the single executable',
  () => {
    beforeAll(async () => {
      work = await mkdtemp(join(tmpdir(), 'pgcopy-install-binary-'));
      fixture = await InstalledCopyFixture.create('Install_Binary');
      await freshBinary();
      binDir = join(work, 'bin');
      await mkdir(binDir);
      await mkdir(join(work, 'home'));
      await copyFile(built, join(binDir, 'pgcopy'));
      env = { PATH: binDir, HOME: join(work, 'home') };
    }, 180_000);

    afterAll(async () => {
      await fixture.drop();
      await rm(work, { recursive: true, force: true });
    });

    it('finds no node on the PATH it runs with', async () => {
      const found = await runProcess('/bin/sh', ['-c', 'command -v node'], { env });
      expect(found.code).not.toBe(0);
      expect(found.stdout).toBe('');
    });

    it('prints its version with no node on PATH', async () => {
      const result = await runProcess('pgcopy', ['--version'], { cwd: work, env });
      expect(result).toMatchObject({ code: 0, stdout: `pgcopy ${version}\n`, stderr: '' });
    });

    it('copies a table with no node on PATH', async () => {
      const { file, targetSchema } = await fixture.writeConfig(work, 'binary');
      const run = await runProcess('pgcopy', ['run', '--config', file], { cwd: work, env });
      expect(run.code, run.stderr).toBe(0);
      await fixture.expectCopied(targetSchema);
    });
  },
);
