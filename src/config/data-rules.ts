import * as z from 'zod';
import { closed, choice, expected, integer, problem, text } from './schema-kit.js';
import {
  MASK_KINDS,
  type DataRule,
  type DataRules,
  type MaskKeySource,
  type MaskKind,
} from './types.js';
import { whereFilterProblem } from './where-filter.js';

/**
 * `dataRules` (docs/data-rules.md): a map from a column name or pattern to what is written in
 * its place, computed on the source inside the COPY's SELECT. `null` writes NULL; `{ value }` a
 * fixed value; `{ expression }` one SQL expression over the source row (checked as `where` is:
 * it cannot end the statement it sits in); `{ mask }` a built-in mask, most of them keyed by
 * options.maskKey.
 */

/** The masks that read options.maskKey: the same key gives the same output everywhere. */
export const KEYED_MASKS: readonly MaskKind[] = MASK_KINDS.filter((kind) => kind !== 'partial');

/** `[table.]column`, either part a glob (`*`, `?`); a name holds no dot of its own. */
function isRuleKey(key: string): boolean {
  const parts = key.split('.');
  return parts.length <= 2 && parts.every((p) => p !== '' && !/\s/.test(p));
}

const ruleObject = closed(
  {
    value: z
      .union([z.string(), z.number(), z.boolean()], {
        error: expected('a string, number or boolean'),
      })
      .optional()
      .describe('A fixed value, read by the column type.'),
    expression: text('an SQL expression')
      .superRefine((sql, ctx) => {
        const why = whereFilterProblem(sql);
        if (why !== undefined)
          problem(ctx, why.replace('a filter is one condition', 'one expression'));
      })
      .optional()
      .describe('One SQL expression over the source row (its columns by name).'),
    mask: choice(MASK_KINDS).optional().describe('A built-in mask (docs/data-rules.md).'),
    first: integer(0, 1000)
      .optional()
      .describe('mask partial: characters kept at the start (default 0).'),
    last: integer(0, 1000)
      .optional()
      .describe('mask partial: characters kept at the end (default 4).'),
  },
  'null, { value }, { expression } or { mask }',
)
  .superRefine((v, ctx) => {
    const given = (['value', 'expression', 'mask'] as const).filter((k) => v[k] !== undefined);
    if (given.length !== 1) {
      problem(
        ctx,
        `expected exactly one of value, expression or mask, got ${given.length === 0 ? 'none' : given.join(' and ')}`,
      );
    }
    if ((v.first !== undefined || v.last !== undefined) && v.mask !== 'partial') {
      problem(ctx, 'first and last go with mask: partial only');
    }
  })
  .transform((v): DataRule => {
    if (v.value !== undefined) return { kind: 'value', value: String(v.value) };
    if (v.expression !== undefined) return { kind: 'expression', expression: v.expression };
    const mask = v.mask as MaskKind;
    if (mask !== 'partial') return { kind: 'mask', mask };
    return { kind: 'mask', mask, first: v.first ?? 0, last: v.last ?? 4 };
  })
  .meta({ id: 'dataRule', title: 'Data rule' });

const rule = z
  .union([z.null().transform((): DataRule => ({ kind: 'null' })), ruleObject], {
    error: expected('null, { value }, { expression } or { mask }'),
  })
  .describe('null, { value: X }, { expression: SQL } or { mask: KIND }.');

/** One instance, used at every level (run, target, table). */
export const DATA_RULES = z
  .record(z.string(), rule, { error: expected('a mapping of column names to rules') })
  .superRefine((rules, ctx) => {
    for (const key of Object.keys(rules)) {
      if (!isRuleKey(key)) {
        problem(ctx, `"${key}": expected a column name or pattern, or table.column`, [key]);
      }
    }
  })
  .transform((v): DataRules => v)
  .describe(
    'Column name or pattern (email, users.email, encrypted_*) to null or a rule, applied on the source (docs/data-rules.md).',
  );

const MASK_KEY_WHAT = '{ env: VAR } or { secret: NAME } (a key is never written in the config)';

const MASK_KEY_KEYS = ['env', 'secret'];

/** `{ env }` or `{ secret }`; anything else is refused without repeating it (it may be the key). */
export const MASK_KEY = z
  .strictObject(
    {
      env: text('an environment variable name')
        .optional()
        .describe('Environment variable holding the key.'),
      secret: text('a secret name')
        .optional()
        .describe("Secret holding the key (the secrets provider's)."),
    },
    {
      error: (issue) => {
        if (issue.code === 'unrecognized_keys') {
          return issue.keys
            .map((key) => `${key}: unknown key (expected one of ${MASK_KEY_KEYS.join(', ')})`)
            .join('\n');
        }
        if (issue.input === undefined) return 'is required';
        const got = typeof issue.input === 'object' ? 'a list' : 'a literal value (not shown)';
        return `expected ${MASK_KEY_WHAT}, got ${got}`;
      },
    },
  )
  .superRefine((v, ctx) => {
    if ((v.env === undefined) === (v.secret === undefined)) {
      problem(ctx, `expected ${MASK_KEY_WHAT}`);
    }
  })
  .transform((v): MaskKeySource =>
    v.env !== undefined ? { env: v.env } : { secret: v.secret ?? '' },
  )
  .meta({ id: 'maskKey', title: 'Key of the keyed masks' });

/** The config keys of the rules that need options.maskKey, for the error without one. */
export function keyedRuleKeys(rules: DataRules | undefined | null, at: string): string[] {
  return Object.entries(rules ?? {})
    .filter(([, r]) => r.kind === 'mask' && KEYED_MASKS.includes(r.mask))
    .map(([key]) => `${at}.dataRules.${key}`);
}
