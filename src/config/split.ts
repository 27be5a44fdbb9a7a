import * as z from 'zod';
import { closed, expected, integer, quantity } from './schema-kit.js';
import type {
  RebuildIndexesConfig,
  RebuildIndexesSetting,
  SplitConfig,
  SplitSetting,
} from './types.js';

/** options.split when an object leaves a key out: 1 GB tables and up, in two parts. */
export const DEFAULT_SPLIT: SplitConfig = Object.freeze({ minBytes: 1024 ** 3, parts: 2 });

/** options.rebuildIndexes when an object leaves minBytes out, and the truncate-mode default. */
export const DEFAULT_REBUILD_INDEXES: RebuildIndexesConfig = Object.freeze({
  minBytes: 256 * 1024 ** 2,
});

/** A size as PostgreSQL writes one (`512MB`, `1GB`; 1024-based) or a number of bytes. */
export function size() {
  return quantity({
    pattern: /^\s*(\d+)\s*(B|kB|MB|GB|TB)?\s*$/,
    units: { B: 1, kB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 },
    defaultUnit: 'B',
    expected: 'a size such as 512MB, 1GB, or a number of bytes',
    description: 'A size such as 512MB, 1GB, or a number of bytes.',
  });
}

/**
 * `setting: { ... }` or, to turn off what a level above set, `setting: false`. `on` is the object
 * branch, already resolved; `what` words both branches for an error.
 */
function objectOrFalse<T extends object>(on: z.ZodType<T>, what: string) {
  const error = expected(what);
  // A boolean branch (not a literal) so that an object meets a type mismatch there, and zod reports
  // the object branch's own problems (`split.minBytes: ...`) rather than the union's.
  const off = z
    .boolean({ error })
    .refine((v) => !v, { error })
    .transform((): false => false);
  return z.union([off, on], { error }).transform((v): T | false => v);
}

/**
 * `split: { minBytes, parts }` (keys left out take DEFAULT_SPLIT's) or, on a target or a table,
 * `split: false` to copy in one stream whatever the level above says.
 */
function splitSetting() {
  const parts = closed(
    {
      minBytes: size().nullish().describe('Tables at least this big are split (default 1GB).'),
      parts: integer(2, 64).nullish().describe('Parts of a split table (default 2).'),
    },
    '{ minBytes, parts } or false',
  )
    .meta({ id: 'split', title: 'Split big tables' })
    .transform((v): SplitConfig => ({
      minBytes: v.minBytes ?? DEFAULT_SPLIT.minBytes,
      parts: v.parts ?? DEFAULT_SPLIT.parts,
    }));
  return objectOrFalse(parts, '{ minBytes, parts } or false')
    .transform((v): SplitSetting => v)
    .describe('Copy big tables in parallel parts, committed together (false: never).');
}

/** One instance, used at every level (run, target, table): the JSON schema names it once. */
export const SPLIT_SETTING = splitSetting();

/**
 * `rebuildIndexes: { minBytes }` (default 256MB) or `false`: drop a big table's secondary indexes
 * before its load and create them again before its COMMIT, in the same transaction.
 */
function rebuildIndexesSetting() {
  const on = closed(
    {
      minBytes: size()
        .nullish()
        .describe('Tables at least this big have their indexes rebuilt (default 256MB).'),
    },
    '{ minBytes } or false',
  )
    .meta({ id: 'rebuildIndexes', title: 'Rebuild secondary indexes of big tables' })
    .transform((v): RebuildIndexesConfig => ({
      minBytes: v.minBytes ?? DEFAULT_REBUILD_INDEXES.minBytes,
    }));
  return objectOrFalse(on, '{ minBytes } or false')
    .transform((v): RebuildIndexesSetting => v)
    .describe(
      "Drop a big table's secondary indexes for its load and build them again before COMMIT (false: never; default: 256MB tables and up in truncate mode).",
    );
}

/** One instance, used at every level (run, target, table). */
export const REBUILD_INDEXES_SETTING = rebuildIndexesSetting();
