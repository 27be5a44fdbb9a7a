import { MODES } from '../config/types.js';
import { COMMAND_OPTIONS, GLOBAL_OPTIONS, type CommandName } from './command-options.js';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
}

/** Options whose value is a file name: the shell completes paths after them. */
const FILE_OPTIONS = new Set(['config', 'report', 'resume', 'output']);

/** What follows `pgcopy`: every command, and `help`. */
const COMMANDS = [...Object.keys(COMMAND_OPTIONS), 'help'].sort();

/** A command's options as typed, long and short: its own, the global ones and --help. */
export function optionWords(command: CommandName): string[] {
  const table: Record<string, OptionSpec> = { ...COMMAND_OPTIONS[command], ...GLOBAL_OPTIONS };
  const words = Object.entries(table).flatMap(([name, spec]) => [
    `--${name}`,
    ...(spec.short === undefined ? [] : [`-${spec.short}`]),
  ]);
  return [...words, '--help'];
}

const commandNames = Object.keys(COMMAND_OPTIONS) as CommandName[];

/** `-c|--config|...`: the options (as typed) whose value is a file. */
function fileOptionWords(): string[] {
  const words = new Set<string>();
  for (const command of commandNames) {
    for (const [name, spec] of Object.entries(COMMAND_OPTIONS[command]) as [string, OptionSpec][]) {
      if (!FILE_OPTIONS.has(name)) continue;
      words.add(`--${name}`);
      if (spec.short !== undefined) words.add(`-${spec.short}`);
    }
  }
  return [...words].sort();
}

/** Words to offer after a command's name (its positional arguments included). */
function argumentWords(command: string): string[] {
  if (command === 'help') return COMMANDS;
  if (command === 'completion') return [...SHELLS];
  return optionWords(command as CommandName);
}

function bashScript(): string {
  const cases = [...commandNames, 'help']
    .map((c) => `    ${c}) words="${argumentWords(c).join(' ')}" ;;`)
    .join('\n');
  return `# pgcopy completion for bash: source <(pgcopy completion bash)
_pgcopy() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" words
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "${COMMANDS.join(' ')} --help --version" -- "$cur"))
    return
  fi
  case "$prev" in
    ${fileOptionWords().join('|')}) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --mode) COMPREPLY=($(compgen -W "${MODES.join(' ')}" -- "$cur")); return ;;
  esac
  case "\${COMP_WORDS[1]}" in
${cases}
    *) words="" ;;
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _pgcopy pgcopy
`;
}

function zshScript(): string {
  const cases = [...commandNames, 'help']
    .map((c) => `    ${c}) compadd -- ${argumentWords(c).join(' ')} ;;`)
    .join('\n');
  return `#compdef pgcopy
# pgcopy completion for zsh: source <(pgcopy completion zsh) (after compinit)
_pgcopy() {
  if (( CURRENT == 2 )); then
    compadd -- ${COMMANDS.join(' ')} --help --version
    return
  fi
  case "$words[CURRENT-1]" in
    ${fileOptionWords().join('|')}) _files; return ;;
    --mode) compadd -- ${MODES.join(' ')}; return ;;
  esac
  case "$words[2]" in
${cases}
  esac
}
compdef _pgcopy pgcopy
`;
}

function fishScript(): string {
  const lines = [
    '# pgcopy completion for fish: pgcopy completion fish | source',
    'complete -c pgcopy -f',
    `complete -c pgcopy -n __fish_use_subcommand -a '${COMMANDS.join(' ')}'`,
    `complete -c pgcopy -n __fish_use_subcommand -l help -l version`,
    `complete -c pgcopy -n '__fish_seen_subcommand_from help' -a '${COMMANDS.join(' ')}'`,
    `complete -c pgcopy -n '__fish_seen_subcommand_from completion' -a '${SHELLS.join(' ')}'`,
  ];
  for (const command of commandNames) {
    const table: Record<string, OptionSpec> = { ...COMMAND_OPTIONS[command], ...GLOBAL_OPTIONS };
    for (const [name, spec] of Object.entries(table)) {
      const short = spec.short === undefined ? '' : ` -s ${spec.short}`;
      const value =
        spec.type === 'boolean'
          ? ''
          : FILE_OPTIONS.has(name)
            ? ' -r -F'
            : name === 'mode'
              ? ` -x -a '${MODES.join(' ')}'`
              : ' -x';
      lines.push(
        `complete -c pgcopy -n '__fish_seen_subcommand_from ${command}'${short} -l ${name}${value}`,
      );
    }
  }
  return lines.join('\n') + '\n';
}

/** The completion script for `shell`, made from the commands' own option tables. */
export function completionScript(shell: Shell): string {
  return shell === 'bash' ? bashScript() : shell === 'zsh' ? zshScript() : fishScript();
}
