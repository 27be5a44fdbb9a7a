import { afterAll, beforeAll } from 'vitest';
import { embeddedBinDir } from '../../src/demo/binaries.js';
import { startLocalPostgres, type LocalPostgres } from '../../src/demo/local-postgres.js';
import { servers, sql } from './db.js';
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

/**
 * For a test file: its own logical source, started before the file's tests (handed to `started`)
 * and stopped after them. Every schema pushed on the returned list is dropped from the suite's two
 * targets at the end.
 */
export function useLogicalSource(
  name: string,
  started: (source: ServerInfo) => void,
  options: { binDir?: string } = {},
): string[] {
  const schemas: string[] = [];
  let server: LocalPostgres | undefined;
  beforeAll(async () => {
    const logical = await startLogicalSource(name, options);
    server = logical.server;
    started(logical.info);
  }, 60_000);
  afterAll(async () => {
    const { target1, target2 } = servers();
    for (const schema of schemas) {
      for (const target of [target1, target2]) {
        await sql(target, `DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      }
    }
    await server?.stop();
  });
  return schemas;
}
