import type { LocalPostgres } from '../../src/demo/local-postgres.js';

/** What the suite-wide setup hands to every test file (plain data: it crosses process boundaries). */
export type ServerInfo = Pick<
  LocalPostgres,
  'name' | 'host' | 'port' | 'user' | 'password' | 'majorVersion'
>;

export interface SuiteServers {
  readonly source: ServerInfo;
  readonly target1: ServerInfo;
  readonly target2: ServerInfo;
  /**
   * PostgreSQL 13 (the `pg13` dev dependency): older than TID range scans. The test setup always
   * starts it (see pg13Server); benchmarks on servers given by URL have none.
   */
  readonly pg13?: ServerInfo;
  /** PostgreSQL 15, when /usr/lib/postgresql/15/bin exists. */
  readonly pg15?: ServerInfo;
  readonly startMs: number;
}

declare module 'vitest' {
  export interface ProvidedContext {
    servers: SuiteServers;
  }
}
