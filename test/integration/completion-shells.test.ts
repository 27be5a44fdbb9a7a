import { execFile, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../../bin/pgcopy.js', import.meta.url));
const pgcopy = `"${process.execPath}" "${bin}"`;

/** Whether `shell` is installed (zsh and fish are optional here; bash is not). */
const installed = (shell: string): boolean =>
  spawnSync(shell, ['-c', 'exit 0'], { stdio: 'ignore' }).status === 0;

async function shell(name: string, script: string): Promise<string[]> {
  const { stdout } = await promisify(execFile)(name, ['-c', script], { timeout: 30_000 });
  return stdout.split('\n').filter((l) => l !== '');
}

/**
 * What bash completes for the words typed after `pgcopy`, the last one being completed: the
 * script is sourced from the built bin (run `npm run build` after changing src) in a real bash.
 */
async function complete(...typed: string[]): Promise<string[]> {
  const words = ['pgcopy', ...typed].map((w) => `'${w}'`).join(' ');
  const script = [
    `source <(${pgcopy} completion bash)`,
    `COMP_WORDS=(${words}); COMP_CWORD=${String(typed.length)}`,
    `$(complete -p pgcopy | sed -E 's/.*-F ([^ ]+) .*/\\1/')`,
    `printf '%s\\n' "\${COMPREPLY[@]}"`,
  ].join('\n');
  return shell('bash', script);
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

describe('pgcopy completion fish and zsh, in the real shells', () => {
  it.skipIf(!installed('fish'))('fish completes pgcopy ru and pgcopy run --con', async () => {
    const source = `${pgcopy} completion fish | source`;
    expect(await shell('fish', `${source}; complete -C 'pgcopy ru'`)).toEqual(['run']);
    const options = await shell('fish', `${source}; complete -C 'pgcopy run --con'`);
    expect(options.map((o) => o.split('\t')[0]).sort()).toEqual(['--concurrency', '--config']);
    expect(await shell('fish', `${source}; complete -C 'pgcopy run --mode tr'`)).toEqual([
      'truncate',
    ]);
  });

  it.skipIf(!installed('zsh'))(
    "zsh parses the script and offers the commands, then run's options (compadd filters them)",
    async () => {
      // compadd and compdef exist only inside zsh's completion system: print what is offered.
      const script = (words: string): string =>
        `compdef() { :; }; source <(${pgcopy} completion zsh); ` +
        `compadd() { [[ $1 == -- ]] && shift; print -l -- "$@"; }; ` +
        `words=(${words}); CURRENT=\${#words}; _pgcopy`;
      expect(await shell('zsh', script('pgcopy ru'))).toContain('run');
      const options = await shell('zsh', script('pgcopy run --con'));
      expect(options).toEqual(expect.arrayContaining(['--concurrency', '--config']));
    },
  );
});
