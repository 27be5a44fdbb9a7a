// The single executable: one file that runs pgcopy where no Node.js is installed (Node's
// single-executable applications).
//
//   node scripts/build-binary.mjs [--node PATH]  ->  dist/bin/pgcopy-linux-x64
//
// The CLI is bundled by esbuild into one CommonJS file (a single-executable application's main
// script must be CommonJS, and its `require` sees only Node's built-in modules), turned into a
// preparation blob by the Node binary the executable is made of, and injected into a copy of that
// binary with postject. The blob (and its V8 code cache) only fits the binary that made it.
//
// The Node binary is, by default, the official 22 build that scripts/fetch-node.mjs pins (the
// Lambda runtime's line): what users run should not depend on the Node of the machine that built
// it, nor be a line past its end of life. `--node PATH` names another (an official build: a
// distribution's node may lack the fuse postject looks for, or need a shared libnode).
import { execFileSync } from 'node:child_process';
import {
  chmod,
  copyFile,
  mkdir,
  mkdtemp,
  readFile,
  rename,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { inject } from 'postject';
import { bundle } from './bundle.mjs';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const output = join(root, 'dist', 'bin', 'pgcopy-linux-x64');

/** The fuse Node's binaries carry; postject flips it so that Node looks for the injected blob. */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/** The process entry, as bin/pgcopy.js has it (a CommonJS main script has no top-level await). */
const ENTRY = "import { main } from './src/cli/main.ts';\nvoid main(process.argv.slice(2));\n";

function mib(bytes) {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function officialNode22() {
  const printed = execFileSync(process.execPath, [join(root, 'scripts', 'fetch-node.mjs'), '22'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return printed.trim();
}

function bundleCli() {
  return bundle({
    stdin: { contents: ENTRY, resolveDir: root, loader: 'ts', sourcefile: 'pgcopy-sea.ts' },
    format: 'cjs',
    // `init` finds pgcopy.schema.json beside the package through import.meta.url; a CommonJS
    // bundle has no import.meta: the executable's own path stands in for it.
    define: { 'import.meta.url': '__pgcopyUrl' },
    banner: { js: "const __pgcopyUrl = require('node:url').pathToFileURL(__filename).href;" },
  });
}

const { values } = parseArgs({ options: { node: { type: 'string' } } });
const started = performance.now();
const node = values.node ?? officialNode22();
const nodeVersion = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();

const work = await mkdtemp(join(tmpdir(), 'pgcopy-sea-'));
try {
  const main = join(work, 'pgcopy.cjs');
  const blob = join(work, 'pgcopy.blob');
  await writeFile(main, await bundleCli());
  const seaConfig = join(work, 'sea-config.json');
  await writeFile(
    seaConfig,
    JSON.stringify({
      main,
      output: blob,
      disableExperimentalSEAWarning: true,
      useCodeCache: true,
    }),
  );
  execFileSync(node, ['--experimental-sea-config', seaConfig], { cwd: work, stdio: 'inherit' });

  // Made beside its final place and renamed into it: an interrupted build leaves no half binary.
  await mkdir(dirname(output), { recursive: true });
  const partial = `${output}.partial`;
  await copyFile(node, partial);
  await chmod(partial, 0o755);
  await inject(partial, 'NODE_SEA_BLOB', await readFile(blob), { sentinelFuse: SEA_FUSE });
  await rename(partial, output);

  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const size = (await stat(output)).size;
  console.log(
    `${join('dist', 'bin', 'pgcopy-linux-x64')}: ${mib(size)}, Node ${nodeVersion}, ` +
      `bundle ${mib((await stat(main)).size)}, built in ${seconds} s`,
  );
} finally {
  await rm(work, { recursive: true, force: true });
}
