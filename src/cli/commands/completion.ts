import { ConfigError } from '../../errors.js';
import { COMMAND_OPTIONS } from '../command-options.js';
import { SHELLS, completionScript, type Shell } from '../completion.js';
import { EXIT, type CliIo } from '../io.js';
import { parseCommandArgs } from '../parse-args.js';

/** `pgcopy completion bash|zsh|fish`: the shell's completion script on stdout. */
export async function completionCommand(args: string[], io: CliIo): Promise<number> {
  const { positionals } = parseCommandArgs(args, COMMAND_OPTIONS.completion);
  const [shell, extra] = positionals;
  if (
    shell === undefined ||
    extra !== undefined ||
    !(SHELLS as readonly string[]).includes(shell)
  ) {
    throw new ConfigError(`usage: pgcopy completion ${SHELLS.join('|')}`);
  }
  io.stdout.write(completionScript(shell as Shell));
  return Promise.resolve(EXIT.OK);
}
