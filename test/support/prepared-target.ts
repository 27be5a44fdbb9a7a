import { embeddedBinDir } from '../../src/demo/binaries.js';
import { startLocalPostgres, type LocalPostgres } from '../../src/demo/local-postgres.js';
import type { ServerInfo } from './server-info.js';

/**
 * A PostgreSQL 17 target of a file's own that can prepare transactions: a split table commits its
 * parts together through them, and the suite's targets have none (max_prepared_transactions = 0).
 * The caller stops `server`.
 */
export async function startPreparingTarget(
  name: string,
): Promise<{ server: LocalPostgres; info: ServerInfo }> {
  const server = await startLocalPostgres({
    binDir: embeddedBinDir(),
    name,
    settings: { max_prepared_transactions: '4' },
  });
  return { server, info: { ...server, name: server.name } };
}
