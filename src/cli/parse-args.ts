import { parseArgs } from 'node:util';
import { ConfigError } from '../errors.js';

type Options = NonNullable<Parameters<typeof parseArgs>[0]>['options'] & object;
type Parsed<T extends Options> = ReturnType<
  typeof parseArgs<{ options: T; allowPositionals: true; strict: true }>
>;

/**
 * node:util parseArgs with usage errors turned into ConfigError (exit 2, no stack trace). An
 * option that takes one value and is given twice (`-c a -c b`) is a usage error: parseArgs would
 * silently keep the last one.
 */
export function parseCommandArgs<T extends Options>(args: string[], options: T): Parsed<T> {
  let parsed: ReturnType<
    typeof parseArgs<{ options: T; allowPositionals: true; strict: true; tokens: true }>
  >;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true, tokens: true });
  } catch (error) {
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
