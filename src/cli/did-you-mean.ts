import { closest } from '../config/closest.js';

/**
 * `unknown option --concurency; did you mean --concurrency?`, else `unknown option --x` and the
 * hint. Only long options get a suggestion: any one-letter option is one edit from any other.
 */
export function unknownOptionMessage(
  rawName: string,
  longNames: readonly string[],
  hint = '',
): string {
  const near = rawName.startsWith('--') ? closest(rawName.slice(2), longNames) : undefined;
  return near === undefined
    ? `unknown option ${rawName}${hint}`
    : `unknown option ${rawName}; did you mean --${near}?`;
}

/** `unknown command "rnu"; did you mean "run"?`, else the pointer to the list of commands. */
export function unknownCommandMessage(name: string, commands: readonly string[]): string {
  const near = closest(name, commands);
  return near === undefined
    ? `unknown command "${name}" (try pgcopy --help)`
    : `unknown command "${name}"; did you mean "${near}"?`;
}
