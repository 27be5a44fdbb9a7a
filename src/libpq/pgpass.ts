import { join } from 'node:path';
import { readLibpqFile } from '../operator-files.js';

type Env = Readonly<Record<string, string | undefined>>;

/** One line of a password file: host, port, database, user (each may be `*`) and the password. */
interface PgpassEntry {
  readonly fields: readonly [string, string, string, string];
  readonly password: string;
}

/** What an endpoint is matched on: its real host and port, never a tunnel's local address. */
export interface PgpassKey {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
}

/** A password file read once per run; `where` names it in the error of an endpoint without one. */
export interface Pgpass {
  readonly where: string;
  lookup(key: PgpassKey): string | undefined;
}

/** Splits a line on unescaped `:`; `\:` and `\\` stand for themselves, as libpq reads them. */
function splitLine(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  for (let i = 0; i < line.length; i += 1) {
    const c = line.charAt(i);
    if (c === '\\' && i + 1 < line.length) {
      i += 1;
      field += line.charAt(i);
    } else if (c === ':' && fields.length < 4) {
      fields.push(field);
      field = '';
    } else field += c;
  }
  fields.push(field);
  return fields;
}

export function parsePgpass(text: string): PgpassEntry[] {
  const entries: PgpassEntry[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const [host, port, database, user, password] = splitLine(line);
    if (password === undefined || host === undefined || port === undefined) continue;
    if (database === undefined || user === undefined) continue;
    entries.push({ fields: [host, port, database, user], password });
  }
  return entries;
}

/** The first entry matching the endpoint, as libpq picks it. */
export function matchPgpass(entries: readonly PgpassEntry[], key: PgpassKey): string | undefined {
  const wanted = [key.host, String(key.port), key.database, key.user];
  return entries.find((e) => e.fields.every((f, i) => f === '*' || f === wanted[i]))?.password;
}

/**
 * Reads `PGPASSFILE`, else `~/.pgpass` (HOME from the given environment). Like libpq, a file that
 * group or others may read is ignored, and says so in `where`; a missing file matches nothing.
 */
export async function readPgpass(env: Env): Promise<Pgpass | undefined> {
  const home = env['HOME'];
  const file = env['PGPASSFILE'] ?? (home === undefined ? undefined : join(home, '.pgpass'));
  if (file === undefined || file === '') return undefined;
  const read = await readLibpqFile('password file', file);
  if (read === undefined) return undefined;
  if ((read.mode & 0o077) !== 0) {
    return {
      where: `${file} (ignored: readable by group or others; chmod 600 it)`,
      lookup: () => undefined,
    };
  }
  const entries = parsePgpass(read.text);
  return { where: file, lookup: (key) => matchPgpass(entries, key) };
}
