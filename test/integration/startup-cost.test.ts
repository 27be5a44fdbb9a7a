import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../../bin/pgcopy.js', import.meta.url));
const trace = fileURLToPath(new URL('../support/fixtures/register-trace.mjs', import.meta.url));

/** The npm packages a CLI invocation loads, as the loader hook reports them. */
async function packagesLoadedBy(args: string[]): Promise<string[]> {
  const { stderr } = await promisify(execFile)(process.execPath, ['--import', trace, bin, ...args]);
  return [...stderr.matchAll(/^package: (.+)$/gm)].map((m) => m[1] ?? '');
}

describe('start-up cost', () => {
  it('loads neither the AWS SDK nor ssh2 unless a command needs them', async () => {
    const loaded = await packagesLoadedBy(['--help']);
    expect(loaded).toContain('pg');
    expect(loaded.filter((p) => p.startsWith('@aws-sdk') || p === 'ssh2')).toEqual([]);
  });
});
