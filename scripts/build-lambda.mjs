// Lambda packaging.
//   node scripts/build-lambda.mjs function  ->  dist/lambda/function.zip: index.mjs, one bundled file
//                                              that needs no node_modules and no layer
//   node scripts/build-lambda.mjs layer     ->  dist/lambda/layer.zip (nodejs/node_modules: the
//                                              production dependencies) and dist/lambda/code.zip
//                                              (index.js, pgcopy's own code, requiring the layer)
// Both name the handler `index.handler`.
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESM_BANNER, bundle as bundleWith } from './bundle.mjs';
import { writeZip } from './zip.mjs';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const out = join(root, 'dist', 'lambda');
const entry = join(root, 'src', 'lambda', 'handler.ts');

/** What both packagings bundle. */
const common = { entryPoints: [entry] };

function bundle(options) {
  return bundleWith({ ...common, ...options });
}

function kib(bytes) {
  return `${(bytes / 1024).toFixed(0)} KiB`;
}

async function report(name, unpacked) {
  const zipped = (await stat(join(out, name))).size;
  console.log(`${join('dist', 'lambda', name)}: ${kib(zipped)} zipped, ${kib(unpacked)} unpacked`);
}

async function buildFunction() {
  const code = await bundle({
    format: 'esm',
    outfile: 'index.mjs',
    banner: { js: ESM_BANNER },
  });
  await writeZip(join(out, 'function.zip'), [{ name: 'index.mjs', data: code }]);
  await report('function.zip', code.length);
}

/** TypeScript (sources some packages ship, as zod does, and declarations) and source maps: never
 * loaded at run time. */
const UNUSED_AT_RUN_TIME = /\.([cm]?ts|map)$/;

/**
 * Folders of a package that nothing loads at run time: test suites (ssh2's holds dozens of private
 * keys that scanners flag), examples, benchmarks, docs and CI settings. A layer ships what runs.
 */
const NOT_RUN = new Set([
  'test',
  'tests',
  '__tests__',
  'example',
  'examples',
  'bench',
  'benchmark',
  'benchmarks',
  'docs',
  '.github',
]);

/** Files under `dir`, as paths relative to it, skipping nested node_modules (listed on their own). */
async function filesUnder(dir) {
  const found = [];
  for (const item of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!item.isFile() || UNUSED_AT_RUN_TIME.test(item.name)) continue;
    const path = join(item.parentPath, item.name);
    const rel = relative(dir, path);
    const folders = rel.split(sep).slice(0, -1);
    if (folders.includes('node_modules') || folders.some((f) => NOT_RUN.has(f))) continue;
    found.push(rel);
  }
  return found.sort();
}

/** Optional native build chain of ssh2's cpu-features: never built, not needed at run time. */
const NATIVE_BUILD_ONLY = new Set(['cpu-features', 'nan', 'buildcheck']);

async function buildLayer() {
  // CommonJS: a layer's /opt/nodejs/node_modules is found through NODE_PATH, which only require()
  // honours; ES module imports would not see the layer.
  const code = await bundle({ format: 'cjs', outfile: 'index.js', packages: 'external' });
  await writeZip(join(out, 'code.zip'), [{ name: 'index.js', data: code }]);
  await report('code.zip', code.length);

  const listing = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], {
    cwd: root,
    encoding: 'utf8',
  });
  const packages = listing
    .split('\n')
    .filter((line) => line.startsWith(join(root, 'node_modules') + sep))
    .filter((line) => !NATIVE_BUILD_ONLY.has(line.split(`node_modules${sep}`).pop() ?? ''));
  const entries = [];
  let unpacked = 0;
  for (const dir of packages) {
    for (const rel of await filesUnder(dir)) {
      const path = join(dir, rel);
      const data = await readFile(path);
      const mode = (await stat(path)).mode & 0o777;
      const name = ['nodejs', relative(root, dir), rel].join('/').split(sep).join('/');
      entries.push({ name, data, mode });
      unpacked += data.length;
    }
  }
  await writeZip(join(out, 'layer.zip'), entries);
  await report('layer.zip', unpacked);
}

const what = process.argv[2];
if (what !== 'function' && what !== 'layer') {
  console.error('usage: node scripts/build-lambda.mjs function|layer');
  process.exit(2);
}
await mkdir(out, { recursive: true });
await rm(join(out, what === 'function' ? 'function.zip' : 'layer.zip'), { force: true });
await (what === 'function' ? buildFunction() : buildLayer());
