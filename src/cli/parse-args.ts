import { parseArgs } from 'node:util';
import { ConfigError } from '../errors.js';

type Options = NonNullable<Parameters<typeof parseArgs>[0]>['options'] & object;
type Parsed<T extends Options> = ReturnType<
  typeof parseArgs<{ options: T; allowPositionals: true; strict: true }>
>;

/** node:util parseArgs with usage errors turned into ConfigError (exit 2, no stack trace). */
export function parseCommandArgs<T extends Options>(args: string[], options: T): Parsed<T> {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new ConfigError(`usage: ${message.split('\n')[0] ?? message}`, { cause: error });
  }
}
