import pg from 'pg';
import type { TestProject } from 'vitest/node';
import suiteSetup from '../test/support/global-setup.js';
import type { ServerInfo } from '../test/support/server-info.js';

/** A server given by URL (`postgres://user:password@host:port/postgres`), as the benchmarks see it. */
async function serverAt(name: string, url: string): Promise<ServerInfo> {
  const parsed = new URL(url);
  const info = {
    name,
    host: parsed.hostname,
    port: Number(parsed.port || 5432),
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
  };
  const client = new pg.Client({ ...info, database: 'postgres' });
  await client.connect();
  try {
    const { rows } = await client.query<{ v: string }>(
      "SELECT current_setting('server_version_num') AS v",
    );
    return { ...info, majorVersion: Math.floor(Number(rows[0]?.v) / 10_000) };
  } finally {
    await client.end();
  }
}

/**
 * The benchmarks' servers: PGCOPY_BENCH_SOURCE_URL and PGCOPY_BENCH_TARGET_URL when both are set
 * (their `postgres` databases; the target must reach the source at the same address for dblink
 * and postgres_fdw), otherwise the suite's embedded ones.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const sourceUrl = process.env.PGCOPY_BENCH_SOURCE_URL;
  const targetUrl = process.env.PGCOPY_BENCH_TARGET_URL;
  if (!sourceUrl || !targetUrl) return suiteSetup(project);
  const started = Date.now();
  const [source, target] = await Promise.all([
    serverAt('source', sourceUrl),
    serverAt('target1', targetUrl),
  ]);
  project.provide('servers', {
    source,
    target1: target,
    target2: { ...target, name: 'target2' },
    startMs: Date.now() - started,
  });
  process.stderr.write(
    `benchmark servers: source PostgreSQL ${source.majorVersion}, target ${target.majorVersion} (given by URL)\n`,
  );
  return () => Promise.resolve();
}
