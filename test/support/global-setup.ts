import { dirname } from 'node:path';
import { postgres as pg13Postgres } from 'pg13';
import type { TestProject } from 'vitest/node';
import { debianPg15BinDir, embeddedBinDir } from '../../src/demo/binaries.js';
import { startLocalPostgres, type LocalPostgres } from '../../src/demo/local-postgres.js';
import type { ServerInfo } from './server-info.js';

function info(s: LocalPostgres): ServerInfo {
  return {
    name: s.name,
    host: s.host,
    port: s.port,
    user: s.user,
    password: s.password,
    majorVersion: s.majorVersion,
  };
}

/** Starts the suite's PostgreSQL servers once; stops them (and removes their dirs) at the end. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  const pg15 = debianPg15BinDir();
  const bin = embeddedBinDir();
  const results = await Promise.allSettled([
    startLocalPostgres({ binDir: bin, name: 'source' }),
    startLocalPostgres({ binDir: bin, name: 'target1' }),
    startLocalPostgres({ binDir: bin, name: 'target2' }),
    // PostgreSQL 13 (a dev dependency): a source without TID range scans, for the key split.
    startLocalPostgres({ binDir: dirname(pg13Postgres), name: 'pg13' }),
    ...(pg15 ? [startLocalPostgres({ binDir: pg15, name: 'pg15' })] : []),
  ]);
  const servers = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const stopAll = async (): Promise<void> => {
    await Promise.allSettled(servers.map((s) => s.stop()));
  };
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) {
    await stopAll();
    throw failed.reason;
  }
  const [source, target1, target2, pg13, old] = servers as [
    LocalPostgres,
    LocalPostgres,
    LocalPostgres,
    LocalPostgres,
    LocalPostgres?,
  ];
  const startMs = Date.now() - started;
  project.provide('servers', {
    source: info(source),
    target1: info(target1),
    target2: info(target2),
    pg13: info(pg13),
    ...(old ? { pg15: info(old) } : {}),
    startMs,
  });
  process.stderr.write(
    `test servers started in ${startMs} ms (${servers.map((s) => `${s.name}:${s.majorVersion}`).join(', ')})\n`,
  );
  return stopAll;
}
