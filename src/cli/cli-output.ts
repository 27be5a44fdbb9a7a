import type { Trace } from '../db/trace.js';
import { printable } from '../report/printable.js';
import { AsciiStream } from './ascii-stream.js';
import type { CliIo } from './io.js';

/** The global flags as typed anywhere before `--` (every command's table declares them too). */
export function globalFlags(args: readonly string[]): {
  ascii: boolean;
  verbose: boolean;
  debug: boolean;
  json: boolean;
} {
  const end = args.indexOf('--');
  const own = end < 0 ? args : args.slice(0, end);
  return {
    ascii: own.includes('--ascii'),
    verbose: own.includes('--verbose') || own.includes('--debug'),
    debug: own.includes('--debug'),
    json: own.includes('--json'),
  };
}

/** `--verbose`: each step on stderr; `--debug` also each statement sent, on one line. */
function traceOf(stderr: CliIo['stderr'], flags: { verbose: boolean; debug: boolean }): Trace {
  return {
    step: flags.verbose
      ? (message) => void stderr.write(`pgcopy: ${printable(message)}\n`)
      : undefined,
    query: flags.debug
      ? (endpoint, sql) =>
          void stderr.write(
            `pgcopy: debug: ${printable(endpoint)}: ${printable(sql.replace(/\s+/g, ' ').trim())}\n`,
          )
      : undefined,
  };
}

/**
 * The io a command gets: markers in ASCII on both streams under `--ascii` or a locale that is
 * not UTF-8 (`io.utf8 === false`), and the trace the flags ask for.
 */
export function commandIo(io: CliIo, args: readonly string[]): CliIo {
  const flags = globalFlags(args);
  const ascii = flags.ascii || io.utf8 === false;
  const stdout = ascii ? new AsciiStream(io.stdout) : io.stdout;
  const stderr = ascii ? new AsciiStream(io.stderr) : io.stderr;
  return {
    ...io,
    stdout,
    stderr,
    ascii: flags.ascii,
    ...(flags.verbose ? { trace: traceOf(stderr, flags) } : {}),
  };
}
