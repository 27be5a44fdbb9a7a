import { embeddedBinDir } from '../../src/demo/binaries.js';
import { startLocalPostgres, type LocalPostgres } from '../../src/demo/local-postgres.js';
import type { ServerInfo } from './server-info.js';

/**
 * A PostgreSQL target of a file's own that can prepare transactions: a split table commits its
 * parts together through them, and the suite's targets have none (max_prepared_transactions = 0).
 * PostgreSQL 17 unless `binDir` names another server's binaries. The caller stops `server`.
 */
export async function startPreparingTarget(
  name: string,
  options: { binDir?: string; maxPrepared?: number } = {},
): Promise<{ server: LocalPostgres; info: ServerInfo }> {
  const server = await startLocalPostgres({
    binDir: options.binDir ?? embeddedBinDir(),
    name,
    settings: { max_prepared_transactions: String(options.maxPrepared ?? 4) },
  });
  return { server, info: { ...server, name: server.name } };
}
