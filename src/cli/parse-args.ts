import { parseArgs } from 'node:util';
import { ConfigError } from '../errors.js';
import { unknownOptionMessage } from './did-you-mean.js';
import { GLOBAL_OPTIONS } from './command-options.js';

type Options = NonNullable<Parameters<typeof parseArgs>[0]>['options'] & object;
type Parsed<T extends Options> = ReturnType<
  typeof parseArgs<{ options: T; allowPositionals: true; strict: true }>
>;

/** Options every command takes because the CLI entry answers them before the command runs. */
const ENTRY_OPTIONS = ['help'];

/** The first option in args that `options` does not declare, as typed (`--concurency`, `-x`). */
function firstUnknownOption(args: string[], options: Options): string | undefined {
  const { tokens } = parseArgs({
    args,
    options,
    allowPositionals: true,
    strict: false,
    tokens: true,
  });
  for (const token of tokens) {
    if (token.kind === 'option' && !Object.hasOwn(options, token.name)) return token.rawName;
  }
  return undefined;
}

/**
 * node:util parseArgs with usage errors turned into ConfigError (exit 2, no stack trace), and a
 * mistyped option answered with the declared one nearest to it. An option that takes one value
 * and is given twice (`-c a -c b`) is a usage error: parseArgs would silently keep the last one.
 */
export function parseCommandArgs<T extends Options>(args: string[], own: T): Parsed<T> {
  // The global options (runCli reads them) are accepted by every command.
  const options = { ...GLOBAL_OPTIONS, ...own } as T;
  let parsed: ReturnType<
    typeof parseArgs<{ options: T; allowPositionals: true; strict: true; tokens: true }>
  >;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true, tokens: true });
  } catch (error) {
    const unknown = firstUnknownOption(args, options);
    if (unknown !== undefined) {
      const names = [...Object.keys(options), ...ENTRY_OPTIONS];
      throw new ConfigError(`usage: ${unknownOptionMessage(unknown, names)}`, { cause: error });
    }
    const message = error instanceof Error ? error.message : String(error);
    throw new ConfigError(`usage: ${message.split('\n')[0] ?? message}`, { cause: error });
  }
  const seen = new Set<string>();
  for (const token of parsed.tokens) {
    if (token.kind !== 'option' || options[token.name]?.multiple === true) continue;
    if (seen.has(token.name)) {
      throw new ConfigError(`usage: --${token.name} given more than once`);
    }
    seen.add(token.name);
  }
  return { values: parsed.values, positionals: parsed.positionals };
}
