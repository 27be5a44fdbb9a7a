import { ConfigError, PgcopyError, describeError } from '../errors.js';
import { HELP, commandHelp } from './help.js';
import { unknownCommandMessage, unknownOptionMessage } from './did-you-mean.js';
import { EXIT, type CliIo, type Command } from './io.js';
import { printable, printableJsonLine } from '../report/printable.js';
import { commandIo, globalFlags } from './cli-output.js';
import { VERSION } from '../version.js';
import { isUtf8Locale } from './locale.js';

/** Each command's module loads when it runs: `--help` and `--version` load no driver at all. */
const COMMANDS: Readonly<Record<string, () => Promise<Command>>> = {
  check: async () => (await import('./commands/check.js')).checkCommand,
  completion: async () => (await import('./commands/completion.js')).completionCommand,
  fingerprint: async () => (await import('./commands/fingerprint.js')).fingerprintCommand,
  history: async () => (await import('./commands/history.js')).historyCommand,
  init: async () => (await import('./commands/init.js')).initCommand,
  plan: async () => (await import('./commands/plan.js')).planCommand,
  run: async () => (await import('./commands/run.js')).runCommand,
  sync: async () => (await import('./commands/sync.js')).syncCommand,
  verify: async () => (await import('./commands/verify.js')).verifyCommand,
};

/** What `pgcopy help COMMAND` and the "did you mean" for a mistyped command may name. */
const COMMAND_NAMES = [...Object.keys(COMMANDS), 'help'];

/**
 * The version flags: `-V` and `--version` as pg_dump has them. `-v` alone also answers, as it did
 * before; no command takes `-v`, which stays free for a command's `--verbose` (pg_dump's `-v`).
 */
const VERSION_FLAGS = ['-V', '--version', '-v'];
const HELP_FLAGS = ['-h', '--help'];

/** `pgcopy help [COMMAND]`: the global help, or that command's; a mistyped name is a usage error. */
function helpCommand(args: string[], io: CliIo): number {
  const [name, ...extra] = args;
  if (extra.length > 0) {
    io.stderr.write(`pgcopy: usage: pgcopy help [COMMAND]\n`);
    return EXIT.USAGE;
  }
  if (name === undefined || name === 'help' || HELP_FLAGS.includes(name)) {
    io.stdout.write(HELP);
    return EXIT.OK;
  }
  if (!Object.hasOwn(COMMANDS, name)) {
    io.stderr.write(`pgcopy: ${printable(unknownCommandMessage(name, COMMAND_NAMES))}\n`);
    return EXIT.USAGE;
  }
  io.stdout.write(commandHelp(name));
  return EXIT.OK;
}

/** Runs one command and returns its exit code; never exits the process. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.stdout.write(HELP);
    return EXIT.USAGE;
  }
  if (name === 'help') return helpCommand(rest, io);
  if (HELP_FLAGS.includes(name)) return helpCommand([], io);
  if (VERSION_FLAGS.includes(name)) {
    io.stdout.write(`pgcopy ${VERSION}\n`);
    return EXIT.OK;
  }
  if (name.startsWith('-')) {
    const typed = name.split('=')[0] ?? name;
    const message = unknownOptionMessage(typed, ['help', 'version'], ' (try pgcopy --help)');
    io.stderr.write(`pgcopy: usage: ${printable(message)}\n`);
    return EXIT.USAGE;
  }
  const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!load) {
    io.stderr.write(`pgcopy: ${printable(unknownCommandMessage(name, COMMAND_NAMES))}\n`);
    return EXIT.USAGE;
  }
  const cmdIo = commandIo(io, rest);
  if (rest.some((arg) => HELP_FLAGS.includes(arg))) {
    cmdIo.stdout.write(commandHelp(name));
    return EXIT.OK;
  }
  try {
    const command = await load();
    return await command(rest, cmdIo);
  } catch (error) {
    const code = reportFailure(error, cmdIo);
    // --json: stdout ends with an object saying why, however early the command failed.
    if (JSON_COMMANDS.includes(name) && globalFlags(rest).json) {
      cmdIo.stdout.write(printableJsonLine(errorJson(error, code, io.signal)) + '\n');
    }
    return code;
  }
}

/** The commands whose `--json` output ends with an `error` object when they fail. */
const JSON_COMMANDS = ['run', 'plan', 'verify', 'check', 'history', 'sync'];

/** Says on stderr why the command failed; returns its exit code. */
function reportFailure(error: unknown, io: CliIo): number {
  if (io.signal?.aborted) {
    io.stderr.write('pgcopy: interrupted\n');
    return EXIT.INTERRUPTED;
  }
  if (error instanceof ConfigError) {
    // Every problem of a config at once, one per line.
    for (const problem of error.problems) io.stderr.write(`pgcopy: ${printable(problem)}\n`);
    return EXIT.USAGE;
  }
  if (error instanceof PgcopyError) {
    io.stderr.write(`pgcopy: ${printable(error.message)}\n`);
    return EXIT.FAILED;
  }
  io.stderr.write(`pgcopy: unexpected error: ${printable(describeError(error))}\n`);
  return EXIT.FAILED;
}

/** The `{"type":"error"}` object `--json` ends with: what failed, its code, the exit code. */
function errorJson(error: unknown, exitCode: number, signal: AbortSignal | undefined): unknown {
  const interrupted = signal?.aborted === true;
  return {
    type: 'error',
    version: VERSION,
    code: interrupted ? 'INTERRUPTED' : error instanceof PgcopyError ? error.code : 'UNEXPECTED',
    message: interrupted
      ? 'interrupted'
      : error instanceof ConfigError
        ? error.problems.join('\n')
        : describeError(error),
    exitCode,
  };
}

const EXIT_SIGTERM = 143;
const FORCED_EXIT_MS = 15_000;

/* v8 ignore start -- process glue, exercised in a child process by test/integration/interrupt.test.ts */
/** The process entry: wires signals, runs the command, and is the only place that exits. */
export async function main(argv: string[]): Promise<void> {
  const controller = new AbortController();
  let interrupts = 0;
  let interruptCode: number = EXIT.INTERRUPTED;
  const onSignal = (signal: NodeJS.Signals): void => {
    interrupts += 1;
    // 128 + the signal's number, as shells report it: 130 for SIGINT, 143 for SIGTERM.
    interruptCode = signal === 'SIGTERM' ? EXIT_SIGTERM : EXIT.INTERRUPTED;
    if (interrupts > 1) process.exit(interruptCode);
    process.stderr.write(`\npgcopy: ${signal} received, rolling back open work...\n`);
    controller.abort(new Error(`${signal} received`));
    // Statements are cancelled and sockets destroyed within seconds; should anything still hold
    // the process, leave anyway: the servers roll back what a vanished client left open.
    setTimeout(() => process.exit(interruptCode), FORCED_EXIT_MS).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const code = await runCli(argv, {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    signal: controller.signal,
    utf8: isUtf8Locale(process.env),
  });
  process.exitCode = controller.signal.aborted ? interruptCode : code;
  // Flush stdout before leaving; the only exit in pgcopy.
  process.stdout.write('', () => process.exit(process.exitCode));
}
/* v8 ignore stop */
