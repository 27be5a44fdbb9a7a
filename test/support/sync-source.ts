import { embeddedBinDir } from '../../src/demo/binaries.js';
import { startLocalPostgres, type LocalPostgres } from '../../src/demo/local-postgres.js';
import type { ServerInfo } from './server-info.js';

/**
 * A source of a test file's own with `wal_level = logical` (the suite's servers run with the
 * default `replica`), for `pgcopy sync`. PostgreSQL 17 unless `binDir` names other binaries.
 * The caller stops `server`.
 */
export async function startLogicalSource(
  name: string,
  options: { binDir?: string } = {},
): Promise<{ server: LocalPostgres; info: ServerInfo }> {
  const server = await startLocalPostgres({
    binDir: options.binDir ?? embeddedBinDir(),
    name,
    settings: { wal_level: 'logical', max_replication_slots: '10', max_wal_senders: '10' },
  });
  return { server, info: { ...server, name: server.name } };
}
