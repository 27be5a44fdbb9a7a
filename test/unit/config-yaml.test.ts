import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { MAX_ALIASED_VALUES } from '../../src/config/parse-yaml.js';
import { ConfigError } from '../../src/errors.js';

const HEAD = `source:
  url: postgres://u:p@127.0.0.1:5432/app
targets:
  - name: db_1
    host: 127.0.0.1
    database: app
    user: u
`;

function errorOf(text: string): string {
  try {
    parseConfig(text, {}, 'pgcopy.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

/** Nine times nine times ... aliases: tiny text, millions of values once written out. */
function aliasBomb(levels: number): string {
  let text = `${HEAD}    tables: [t]\nx:\n  l0: &l0 [a, a, a, a, a, a, a, a, a]\n`;
  for (let i = 1; i <= levels; i += 1) {
    text += `  l${i}: &l${i} [${Array.from({ length: 9 }, () => `*l${i - 1}`).join(', ')}]\n`;
  }
  return text;
}

describe('YAML problems are config errors (exit 2) naming the key path', () => {
  it('an alias bomb is refused by key path, quickly, instead of exhausting memory', () => {
    const started = Date.now();
    expect(errorOf(aliasBomb(9))).toBe(
      `x.l4[0]: YAML aliases expand to more than ${MAX_ALIASED_VALUES} values (an alias bomb?)`,
    );
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('an undefined alias names its key path', () => {
    expect(errorOf(`${HEAD}    tables: [t, *missing]\n`)).toBe(
      'targets[0].tables[1]: YAML alias *missing has no anchor before it',
    );
  });

  it('an alias inside the node it refers to (a cycle) names its key path', () => {
    expect(errorOf(`${HEAD}    tables: &self [t, *self]\n`)).toBe(
      'targets[0].tables[1]: YAML alias *self is inside what it refers to',
    );
  });

  it('an unknown tag is an error naming the key, not a raw YAMLWarning on stderr', () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error): number => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      expect(errorOf(`${HEAD}    schema: !secret public\n    tables: [t]\n`)).toBe(
        'targets[0].schema: invalid YAML at line 8, column 13: Unresolved tag: !secret',
      );
      expect(errorOf(`${HEAD}    tables:\n      - a\n      - !weird b\n`)).toBe(
        'targets[0].tables[1]: invalid YAML at line 10, column 9: Unresolved tag: !weird',
      );
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).toEqual([]);
  });

  it('an anchor reused many times is fine (no false alarm below the bound)', () => {
    const targets = Array.from(
      { length: 150 },
      (_, i) =>
        `  - name: t${i}\n    host: h\n    tables: ${i === 0 ? '&tables [a, b, c]' : '*tables'}\n`,
    );
    const config = parseConfig(
      `source:\n  url: postgres://u:p@h/app\ntargets:\n${targets.join('')}`,
      {},
    );
    expect(config.targets).toHaveLength(150);
    expect(config.targets[149]?.tables.map((t) => t.source)).toEqual(['a', 'b', 'c']);
  });
});

describe('$${ writes a literal ${ in the config', () => {
  it('keeps $${VAR} as the text ${VAR}, and still replaces ${VAR}', () => {
    const config = parseConfig(
      HEAD + '    password: "p$${NOT_A_VAR}w${PW}$$x"\n    tables: [t]\n',
      { PW: '1' },
    );
    expect(config.targets[0]?.password).toBe('p${NOT_A_VAR}w1$$x');
  });

  it('a variable whose value contains ${ is not expanded again', () => {
    const config = parseConfig(HEAD + '    password: ${PW}\n    tables: [t]\n', { PW: '${X}' });
    expect(config.targets[0]?.password).toBe('${X}');
  });
});
