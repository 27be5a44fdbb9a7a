import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InstalledCopyFixture, mustRun, runProcess } from '../support/installed-copy.js';

// The npm install path as a user takes it: the tarball `npm pack` makes (what `npm publish`
// uploads), installed globally into an empty prefix with an empty HOME and an empty npm cache,
// its dependencies from the registry; then the installed command copies a table under each
// supported Node.js line.

const root = fileURLToPath(new URL('../..', import.meta.url));
const { version } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as {
  version: string;
};
/** The official Node builds scripts/fetch-node.mjs fetches are linux-x64 only. */
const officialBuilds = process.platform === 'linux' && process.arch === 'x64';

interface PackedFile {
  readonly path: string;
}
interface Packed {
  readonly filename: string;
  readonly size: number;
  readonly unpackedSize: number;
  readonly files: readonly PackedFile[];
}

/** Build outputs that must never ship, made before packing so that the exclusions are exercised
 * whichever builds this checkout has run: a Lambda zip, the single executable's folder. */
const decoys = [
  join('dist', 'lambda', `install-npm-decoy-${process.pid}.zip`),
  join('dist', 'bin', `install-npm-decoy-${process.pid}`),
];

let work: string;
let prefix: string;
let installed: string;
let packed: Packed;
let fixture: InstalledCopyFixture;
/** Node 22 and 24, the official builds CI tests with. */
let nodeBuilds: Record<'22' | '24', string>;
const seconds: Record<string, string> = {};

/** The environment without what the npm running this suite passed down (its cache, prefix,
 * user config), with the given HOME: nothing of the developer's npm setup reaches the install. */
function cleanEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.toLowerCase().startsWith('npm_')) env[key] = value;
  }
  return { ...env, HOME: home, ...extra };
}

async function timed<T>(label: string, step: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await step();
  } finally {
    seconds[label] = ((performance.now() - started) / 1000).toFixed(1);
  }
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'pgcopy-install-npm-'));
  fixture = await InstalledCopyFixture.create('Install_Npm');
  const home = join(work, 'home');
  prefix = join(work, 'prefix');
  await mkdir(home);
  await mkdir(prefix);

  // The machine's own npm settings (registry, CA file) stay: they are where the registry is, not
  // the user's. A global prefix moves npm's default global config file, so it is named.
  const globalConfig = (await mustRun('npm', ['config', 'get', 'globalconfig'])).trim();

  for (const decoy of decoys) {
    await mkdir(dirname(join(root, decoy)), { recursive: true });
    await writeFile(join(root, decoy), 'not for the package');
  }
  try {
    // --ignore-scripts: `prepare` would rebuild dist/ while other test files load it; the suite
    // runs on a built checkout (npm ci builds it), and what ships is that dist/.
    const json = await timed('pack', () =>
      mustRun('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], {
        cwd: root,
      }),
    );
    [packed] = JSON.parse(json) as [Packed];
  } finally {
    for (const decoy of decoys) await rm(join(root, decoy), { force: true });
  }

  await timed('install', () =>
    mustRun(
      'npm',
      [
        'install',
        '--global',
        '--prefix',
        prefix,
        '--no-audit',
        '--no-fund',
        '--no-update-notifier',
        join(work, packed.filename),
      ],
      {
        cwd: work,
        env: cleanEnv(home, {
          npm_config_cache: join(work, 'npm-cache'),
          npm_config_globalconfig: globalConfig,
        }),
      },
    ),
  );
  installed = join(prefix, 'lib', 'node_modules', 'pgcopy');
  // Figures for docs/install.md: the package's sizes and how long packing and installing took.
  console.log(
    `npm package: ${packed.filename} ${(packed.size / 1024).toFixed(0)} KiB packed, ` +
      `${(packed.unpackedSize / 1024).toFixed(0)} KiB unpacked, ${packed.files.length} files; ` +
      `seconds: ${JSON.stringify(seconds)}`,
  );

  if (officialBuilds) {
    const [node22, node24] = (
      await mustRun(process.execPath, ['scripts/fetch-node.mjs'], {
        cwd: root,
      })
    )
      .trim()
      .split('\n');
    if (!node22 || !node24) throw new Error('scripts/fetch-node.mjs printed no Node 22 and 24');
    nodeBuilds = { '22': node22, '24': node24 };
  }
}, 180_000);

afterAll(async () => {
  await fixture.drop();
  await rm(work, { recursive: true, force: true });
});

describe('the npm package', () => {
  it('holds no demo, zip, test, benchmark, source map, single executable or container image', () => {
    const paths = packed.files.map((f) => f.path);
    expect(paths).toContain('bin/pgcopy.js');
    expect(paths).toContain('dist/cli/main.js');
    expect(paths).toContain('dist/index.d.ts');
    expect(paths).toContain('pgcopy.schema.json');
    expect(paths).toContain('LICENSE');
    const unwanted = paths.filter(
      (p) =>
        p.startsWith('dist/demo/') ||
        p.startsWith('dist/bin/') ||
        p.startsWith('dist/image/') ||
        p.endsWith('.zip') ||
        p.endsWith('.map') ||
        /(^|\/)(test|tests|bench|src|scripts|deploy)\//.test(p) ||
        /\.(test|bench)\.[cm]?[jt]s$/.test(p),
    );
    expect(unwanted).toEqual([]);
    // A budget that a build output shipped by mistake would break (the Lambda zips are 3 MB).
    expect(packed.size).toBeLessThan(1024 * 1024);
  });

  it('installs from the tarball into an empty prefix with an empty HOME: pgcopy is on PATH', async () => {
    const env = cleanEnv(join(work, 'home'), {
      PATH: [join(prefix, 'bin'), dirname(process.execPath), '/usr/bin', '/bin'].join(delimiter),
    });
    const result = await runProcess('pgcopy', ['--version'], { cwd: work, env });
    expect(result).toMatchObject({ code: 0, stdout: `pgcopy ${version}\n` });
  });

  const lines = [
    { label: 'system', version: process.version },
    { label: '22', version: '22' },
    { label: '24', version: '24' },
  ] as const;
  for (const line of lines) {
    it.skipIf(line.label !== 'system' && !officialBuilds)(
      `copies a table with the installed command under Node ${line.version}`,
      async () => {
        const node = line.label === 'system' ? process.execPath : nodeBuilds[line.label];
        const bin = join(installed, 'bin', 'pgcopy.js');
        const env = cleanEnv(join(work, 'home'));
        const shown = await runProcess(node, [bin, '--version'], { cwd: work, env });
        expect(shown).toMatchObject({ code: 0, stdout: `pgcopy ${version}\n` });

        const { file, targetSchema } = await fixture.writeConfig(work, `node${line.label}`);
        const run = await runProcess(node, [bin, 'run', '--config', file], { cwd: work, env });
        expect(run.code, run.stderr).toBe(0);
        await fixture.expectCopied(targetSchema);
      },
    );
  }
});
