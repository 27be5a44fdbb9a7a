import { describe, expect, it } from 'vitest';
import { COMMAND_OPTIONS, GLOBAL_OPTIONS } from '../../src/cli/command-options.js';
import { SHELLS, completionScript } from '../../src/cli/completion.js';
import { MODES } from '../../src/config/types.js';

/** Every option each command parses with, as typed (long, and short when it has one). */
function declared(command: keyof typeof COMMAND_OPTIONS): string[] {
  const table: Record<string, { type: string; short?: string }> = {
    ...COMMAND_OPTIONS[command],
    ...GLOBAL_OPTIONS,
  };
  return Object.entries(table).flatMap(([name, o]) => [
    name,
    ...(o.short === undefined ? [] : [o.short]),
  ]);
}

describe('pgcopy completion', () => {
  it('bash and zsh: each command offers every option its parser declares, on its own line', () => {
    for (const shell of ['bash', 'zsh'] as const) {
      const lines = completionScript(shell).split('\n');
      for (const command of Object.keys(COMMAND_OPTIONS) as (keyof typeof COMMAND_OPTIONS)[]) {
        const line = lines.find((l) => l.trimStart().startsWith(`${command}) `)) ?? '';
        const words = line.split(/[\s"]+/);
        for (const name of declared(command)) {
          if (command === 'completion') continue;
          const typed = name.length === 1 ? `-${name}` : `--${name}`;
          expect(words, `${shell} ${command} ${typed}`).toContain(typed);
        }
      }
    }
  });

  it('fish: one complete line per command and option, modes offered for --mode', () => {
    const script = completionScript('fish');
    for (const command of Object.keys(COMMAND_OPTIONS) as (keyof typeof COMMAND_OPTIONS)[]) {
      for (const [name] of Object.entries({ ...COMMAND_OPTIONS[command], ...GLOBAL_OPTIONS })) {
        expect(script).toMatch(
          new RegExp(`__fish_seen_subcommand_from ${command}'( -s \\w)? -l ${name}\\b`),
        );
      }
    }
    expect(script).toContain(`-l mode -x -a '${MODES.join(' ')}'`);
  });

  it('every shell names every command', () => {
    for (const shell of SHELLS) {
      for (const command of [...Object.keys(COMMAND_OPTIONS), 'help']) {
        expect(completionScript(shell), `${shell} ${command}`).toContain(command);
      }
    }
  });
});
