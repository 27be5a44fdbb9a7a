import { dirname } from 'node:path';
import { postgres as pg13Postgres } from 'pg13';
import { embeddedBinDir } from '../../src/demo/binaries.js';
import { startLocalPostgres, type LocalPostgres } from '../../src/demo/local-postgres.js';
import type { ServerInfo } from './server-info.js';

/**
 * A source of a file's own with `wal_level = logical` (the suite's servers have replica): logical
 * slots and publications work on it. PostgreSQL 17, or 13 (the `pg13` dev dependency). The caller
 * stops `server`.
 */
export async function startLogicalSource(
  name: string,
  version: 13 | 17 = 17,
): Promise<{ server: LocalPostgres; info: ServerInfo }> {
  const server = await startLocalPostgres({
    binDir: version === 13 ? dirname(pg13Postgres) : embeddedBinDir(),
    name,
    settings: {
      wal_level: 'logical',
      max_replication_slots: '10',
      max_wal_senders: '10',
      // A slot is read up to the flushed WAL: each commit is there when its statement returns.
      synchronous_commit: 'on',
    },
  });
  return { server, info: { ...server, name: server.name } };
}
