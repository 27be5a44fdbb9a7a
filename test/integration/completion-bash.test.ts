import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../../bin/pgcopy.js', import.meta.url));

/**
 * What bash completes for the words typed after `pgcopy`, the last one being completed: the
 * script is sourced from the built bin (run `npm run build` after changing src) in a real bash.
 */
async function complete(...typed: string[]): Promise<string[]> {
  const words = ['pgcopy', ...typed].map((w) => `'${w}'`).join(' ');
  const script = [
    `source <("${process.execPath}" "${bin}" completion bash)`,
    `COMP_WORDS=(${words}); COMP_CWORD=${String(typed.length)}`,
    `$(complete -p pgcopy | sed -E 's/.*-F ([^ ]+) .*/\\1/')`,
    `printf '%s\\n' "\${COMPREPLY[@]}"`,
  ].join('\n');
  const { stdout } = await promisify(execFile)('bash', ['-c', script], { timeout: 30_000 });
  return stdout.split('\n').filter((l) => l !== '');
}

describe('pgcopy completion bash, in a real bash', () => {
  it('bug: there was no shell completion; pgcopy ru<TAB> completes to run', async () => {
    expect(await complete('ru')).toEqual(['run']);
  });

  it('pgcopy run --con<TAB> offers --concurrency and --config; --mode <TAB> the modes', async () => {
    expect((await complete('run', '--con')).sort()).toEqual(['--concurrency', '--config']);
    expect(await complete('run', '--mode', 'tr')).toEqual(['truncate']);
    expect(await complete('plan', '--deb')).toEqual(['--debug']);
    expect(await complete('help', 've')).toEqual(['verify']);
  });
});
