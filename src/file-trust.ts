import type { Stats } from 'node:fs';

/**
 * Why a file's (or a folder's) owner or mode makes it untrustworthy as OpenSSH judges its own
 * files: owned by another user than `uid` (the one running pgcopy, `process.getuid()`; root
 * excepted), or writable by group or others. Undefined when it is fine (and always where the
 * platform has no user ids: `uid` undefined).
 */
export function untrustedBecause(
  stats: Pick<Stats, 'uid' | 'mode'>,
  uid: number | undefined,
): string | undefined {
  if (uid === undefined) return undefined;
  if (stats.uid !== uid && stats.uid !== 0) return `it is owned by another user (uid ${stats.uid})`;
  if ((stats.mode & 0o022) !== 0) {
    const mode = (stats.mode & 0o777).toString(8).padStart(4, '0');
    return `group or others may write it (mode ${mode})`;
  }
  return undefined;
}
