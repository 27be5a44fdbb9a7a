import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface OsUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

function lookup(name: string): OsUser | undefined {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));
  if (!line) return undefined;
  const [, , uid, gid] = line.split(':');
  return { name, uid: Number(uid), gid: Number(gid) };
}

/**
 * PostgreSQL refuses to run as root: when we are root, servers run as `postgres`
 * (created as a system user when missing). Otherwise they run as ourselves.
 */
export function serverUser(): OsUser | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const existing = lookup('postgres');
  if (existing) return existing;
  execFileSync('useradd', [
    '--system',
    '--no-create-home',
    '--shell',
    '/usr/sbin/nologin',
    'postgres',
  ]);
  const created = lookup('postgres');
  if (!created) throw new Error('could not create the postgres OS user');
  return created;
}
