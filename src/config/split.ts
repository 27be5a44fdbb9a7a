import type { Reader } from './reader.js';
import { optional } from './reader.js';
import type { SplitConfig, SplitSetting } from './types.js';

/** options.split when an object leaves a key out: 1 GB tables and up, in two parts. */
export const DEFAULT_SPLIT: SplitConfig = Object.freeze({ minBytes: 1024 ** 3, parts: 2 });

const UNITS: Readonly<Record<string, number>> = {
  B: 1,
  kB: 1024,
  MB: 1024 ** 2,
  GB: 1024 ** 3,
  TB: 1024 ** 4,
};

/** A size as PostgreSQL writes one (`512MB`, `1GB`; 1024-based) or a number of bytes. */
function readSize(r: Reader): number {
  const v = r.value;
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v;
  const match = typeof v === 'string' ? /^\s*(\d+)\s*(B|kB|MB|GB|TB)?\s*$/.exec(v) : null;
  if (!match) return r.fail('a size such as 512MB, 1GB, or a number of bytes');
  return Number(match[1]) * (UNITS[match[2] ?? 'B'] as number);
}

/**
 * `split: { minBytes, parts }` (keys left out take DEFAULT_SPLIT's) or, on a target or a table,
 * `split: false` to copy in one stream whatever the level above says.
 */
export function readSplit(r: Reader): SplitSetting {
  if (r.value === false) return false;
  const keys = r.object(['minBytes', 'parts'], '{ minBytes, parts } or false');
  return {
    minBytes: optional(keys.get('minBytes'), readSize) ?? DEFAULT_SPLIT.minBytes,
    parts: optional(keys.get('parts'), (k) => k.integer(2, 64)) ?? DEFAULT_SPLIT.parts,
  };
}
