import type { Lsn } from './types.js';

const LSN_TEXT = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;

/** PostgreSQL's `X/Y` text form of a WAL position (pg_lsn's output): two hexadecimal 32-bit halves. */
export function parseLsn(text: string): Lsn {
  const match = LSN_TEXT.exec(text.trim());
  if (!match)
    throw new TypeError(`not a WAL position (X/Y in hexadecimal): ${JSON.stringify(text)}`);
  return (BigInt(`0x${match[1] ?? '0'}`) << 32n) | BigInt(`0x${match[2] ?? '0'}`);
}

/** The `X/Y` form PostgreSQL prints (upper case, no leading zeros), which pg_lsn parses. */
export function formatLsn(lsn: Lsn): string {
  if (lsn < 0n || lsn > 0xffff_ffff_ffff_ffffn)
    throw new RangeError(`WAL position out of range: ${lsn}`);
  const high = (lsn >> 32n).toString(16).toUpperCase();
  const low = (lsn & 0xffff_ffffn).toString(16).toUpperCase();
  return `${high}/${low}`;
}

/** The lower of two positions, either of which may be unknown. */
export function minLsn(a: Lsn | undefined, b: Lsn | undefined): Lsn | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a < b ? a : b;
}
