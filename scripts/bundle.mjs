// esbuild, as every one-file build of pgcopy uses it: the CLI (dist/cli/pgcopy.cjs), the single
// executable, the container image and the Lambda packages.
import { build } from 'esbuild';

// Optional modules their packages load in try/catch, falling back without them: pg's pg-native
// (only when `pg.native` is read), ssh2's native cpu-features and .node crypto bindings.
export const OPTIONAL_NATIVE = ['pg-native', 'cpu-features', '*.node'];

/** ES module output needs these for bundled CommonJS dependencies (ssh2's agent.js uses __dirname). */
export const ESM_BANNER = [
  "import { createRequire as __pgcopyRequire } from 'node:module';",
  "import { fileURLToPath as __pgcopyPath } from 'node:url';",
  "import { dirname as __pgcopyDir } from 'node:path';",
  'const require = __pgcopyRequire(import.meta.url);',
  'const __filename = __pgcopyPath(import.meta.url);',
  'const __dirname = __pgcopyDir(__filename);',
].join('\n');

/**
 * pg picks its socket by asking whether it runs in a Cloudflare Worker; on Node 20 the question
 * (`typeof Response`) loads Node's whole fetch implementation, a quarter of a one-row run's
 * module loading. pgcopy runs on Node only: the bundle gets pg's Node sockets without asking.
 */
const pgNodeSockets = {
  name: 'pg-node-sockets',
  setup(context) {
    context.onLoad({ filter: /[\\/]pg[\\/]lib[\\/]stream\.js$/ }, () => ({
      loader: 'js',
      contents: [
        'module.exports = {',
        "  getStream: () => new (require('net').Socket)(),",
        "  getSecureStream: (options) => require('tls').connect(options),",
        '};',
      ].join('\n'),
    }));
  },
};

/**
 * One bundled file (esbuild `build` options over these defaults; output kept in memory), as a
 * Buffer. keepNames: error class names are part of the messages, the JSON events and Lambda's
 * errorType that Step Functions retries match on.
 */
export async function bundle(options) {
  const result = await build({
    bundle: true,
    platform: 'node',
    target: 'node20',
    minify: true,
    keepNames: true,
    legalComments: 'none',
    external: OPTIONAL_NATIVE,
    write: false,
    logLevel: 'warning',
    ...options,
    plugins: [pgNodeSockets, ...(options.plugins ?? [])],
  });
  const file = result.outputFiles?.[0];
  if (!file) throw new Error('esbuild produced no output');
  return Buffer.from(file.contents);
}
