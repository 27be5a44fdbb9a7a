import { describe, expect, it } from 'vitest';
import { HELP, commandHelp } from '../../src/cli/help.js';
import { printable } from '../../src/report/printable.js';
import { textTable } from '../../src/report/text-table.js';

describe('textTable', () => {
  it('pads text left and numbers right, indents, and makes cells printable', () => {
    expect(
      textTable(
        ['NAME', 'ROWS'],
        [
          ['a\nb', '5'],
          ['long name', '1,000'],
        ],
        '  ',
      ),
    ).toBe(`  NAME${' '.repeat(8)}ROWS\n  a\\nb${' '.repeat(11)}5\n  long name  1,000\n`);
  });

  it('a header alone: no column is taken for numeric, short rows are padded', () => {
    expect(textTable(['A', 'B'], [])).toBe('A  B\n');
    expect(textTable(['A', 'B'], [['x']])).toBe('A  B\nx\n');
  });
});

describe('printable', () => {
  it('escapes C0 and C1 controls, separators and direction overrides; keeps text', () => {
    expect(printable('ok ✓ \t\r\x1b[2J\u0085\u2028\u202e end')).toBe(
      'ok ✓ \\t\\r\\x1b[2J\\x85\\u2028\\u202e end',
    );
  });
});

describe('per-command help', () => {
  it("prints a command's usage and options, and the global help for an unknown name", () => {
    const run = commandHelp('run');
    expect(run).toMatch(/^Usage:\n {2}pgcopy run /);
    expect(run).toContain('--verify');
    expect(run).toContain('--resume REPORT');
    expect(commandHelp('verify')).toContain('Compare row counts and checksums');
    expect(commandHelp('no-such-command')).toBe(HELP);
  });
});
