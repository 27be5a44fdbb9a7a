import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

/**
 * The CLI's modules as tsc built them: the loader hook sees each package they load. The bundle
 * bin/pgcopy.js runs keeps the same laziness (esbuild evaluates a dynamically imported module, and
 * the packages it requires, only when the import runs).
 */
const main = new URL('../../dist/cli/main.js', import.meta.url).href;
const entry = `import(${JSON.stringify(main)}).then((m) => m.main(process.argv.slice(1)))`;
const trace = fileURLToPath(new URL('../support/fixtures/register-trace.mjs', import.meta.url));

/** The npm packages a CLI invocation loads, as the loader hook reports them. */
async function packagesLoadedBy(args: string[]): Promise<string[]> {
  // A command that fails (a config that is not there) still says what it loaded.
  const { stderr } = await promisify(execFile)(process.execPath, [
    '--import',
    trace,
    '--input-type=module',
    '-e',
    entry,
    ...args,
  ]).catch((error: unknown) => error as { stderr: string });
  return [...stderr.matchAll(/^package: (.+)$/gm)].map((m) => m[1] ?? '');
}

describe('start-up cost', () => {
  it('loads no package at all for --help and --version', async () => {
    expect(await packagesLoadedBy(['--help'])).toEqual([]);
    expect(await packagesLoadedBy(['--version'])).toEqual([]);
  });

  it('loads neither the AWS SDK nor ssh2 unless a command needs them', async () => {
    const loaded = await packagesLoadedBy(['plan', '--help']);
    expect(loaded).toEqual([]);
    const planned = await packagesLoadedBy(['plan', '-c', '/nonexistent/pgcopy.yaml']);
    expect(planned).toContain('pg');
    expect(planned.filter((p) => p.startsWith('@aws-sdk') || p === 'ssh2')).toEqual([]);
  });
});
