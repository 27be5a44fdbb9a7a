import { describe, expect, it } from 'vitest';
import { unknownCommandMessage, unknownOptionMessage } from '../../src/cli/did-you-mean.js';
import { parseCommandArgs } from '../../src/cli/parse-args.js';
import { ConfigError } from '../../src/errors.js';

function usageError(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message;
  }
  throw new Error('expected a usage error');
}

describe('did you mean', () => {
  it('names the nearest long option, and none for a one-letter option or a far one', () => {
    expect(unknownOptionMessage('--concurency', ['concurrency', 'config'])).toBe(
      'unknown option --concurency; did you mean --concurrency?',
    );
    expect(unknownOptionMessage('--frobnicate', ['concurrency', 'config'])).toBe(
      'unknown option --frobnicate',
    );
    expect(unknownOptionMessage('-x', ['x', 'config'], ' (try pgcopy --help)')).toBe(
      'unknown option -x (try pgcopy --help)',
    );
  });

  it('names the nearest command, else points at the list', () => {
    expect(unknownCommandMessage('rnu', ['plan', 'run', 'verify'])).toBe(
      'unknown command "rnu"; did you mean "run"?',
    );
    expect(unknownCommandMessage('copy', ['plan', 'run', 'verify'])).toBe(
      'unknown command "copy" (try pgcopy --help)',
    );
  });
});

describe('parseCommandArgs', () => {
  it("bug: a mistyped flag got node's raw parser message; it gets the declared option nearest to it", () => {
    const options = {
      concurrency: { type: 'string' },
      quiet: { type: 'boolean', short: 'q' },
    } as const;
    expect(usageError(() => parseCommandArgs(['--concurency', '4'], options))).toBe(
      'usage: unknown option --concurency; did you mean --concurrency?',
    );
    expect(usageError(() => parseCommandArgs(['--concurency=4'], options))).toBe(
      'usage: unknown option --concurency; did you mean --concurrency?',
    );
    expect(usageError(() => parseCommandArgs(['-qx'], options))).toBe('usage: unknown option -x');
    // --help is answered by the CLI entry before any command parses its options.
    expect(usageError(() => parseCommandArgs(['--hepl'], options))).toBe(
      'usage: unknown option --hepl; did you mean --help?',
    );
  });

  it('suggests from whatever options a command declares (a new flag needs nothing more)', () => {
    const options = { 'run-id': { type: 'string' }, json: { type: 'boolean' } } as const;
    expect(usageError(() => parseCommandArgs(['--runid', 'x'], options))).toBe(
      'usage: unknown option --runid; did you mean --run-id?',
    );
    expect(parseCommandArgs(['--run-id', 'x'], options).values['run-id']).toBe('x');
  });

  it("keeps node's message for the other usage errors", () => {
    const options = { config: { type: 'string', short: 'c' }, json: { type: 'boolean' } } as const;
    expect(usageError(() => parseCommandArgs(['--config'], options))).toMatch(
      /^usage: Option '-c, --config <value>' argument missing/,
    );
    expect(usageError(() => parseCommandArgs(['--json=yes'], options))).toMatch(
      /^usage: Option '--json' does not take an argument/,
    );
  });
});
