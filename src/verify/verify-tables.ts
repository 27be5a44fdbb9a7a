import type pg from 'pg';
import type { Config } from '../config/types.js';
import { endClient } from '../db/end-client.js';
import { SESSION_SETTINGS_SQL } from '../copy/sql.js';
import { redactMessage } from '../report/redact-values.js';
import { makePlan } from '../plan/make-plan.js';
import type { PlanFilters } from '../plan/select-tables.js';
import { pairName, type TablePlan } from '../plan/types.js';
import { openConnectors, type SessionDeps } from '../session.js';
import {
  checksum,
  compare,
  checksumZone,
  copyZones,
  sourceChecksumSql,
  targetChecksumSql,
  type TableChecksum,
} from './checksum.js';

/** One (target, table) pair as `pgcopy verify` found it. */
export interface TableVerification {
  readonly target: string;
  readonly source: string;
  readonly table: string;
  readonly status: 'match' | 'mismatch' | 'error';
  readonly sourceRows?: number;
  readonly targetRows?: number;
  readonly message?: string;
  readonly seconds: number;
}

export interface VerifyReport {
  readonly status: 'match' | 'mismatch' | 'error';
  readonly tables: readonly TableVerification[];
}

/** A read-only REPEATABLE READ transaction with the copy's session settings: one snapshot. */
async function openReader(connect: () => Promise<pg.Client>): Promise<pg.Client> {
  const client = await connect();
  try {
    await client.query(SESSION_SETTINGS_SQL);
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    return client;
  } catch (error) {
    await endClient(client);
    throw error;
  }
}

/**
 * `pgcopy verify`: for every planned (target, table) pair, the row count and an order-independent
 * checksum of the shared columns on both sides, computed by PostgreSQL: the source in one snapshot
 * for all tables (honouring `where`), each target in one snapshot of its own, values compared in
 * the target's types. Pairs are verified one at a time: two connections per target at most.
 */
export async function verifyTables(
  config: Config,
  options: { filters?: PlanFilters; signal?: AbortSignal; deps?: SessionDeps } = {},
): Promise<VerifyReport> {
  const signal = options.signal;
  const connectors = await openConnectors(config, {
    ...options.deps,
    ...(signal ? { signal } : {}),
  });
  try {
    const plan = await makePlan(config, connectors, options.filters, signal ? { signal } : {});
    // The plan's connections: the readers below are opened with verify's own settings.
    await connectors.endIdle();
    const tables: TableVerification[] = [];
    const source = await openReader(() => connectors.source.connect(signal ? { signal } : {}));
    try {
      for (const target of plan.targets) {
        let reader: pg.Client | undefined;
        try {
          for (const table of target.tables) {
            signal?.throwIfAborted();
            if (table.errors.length > 0) {
              tables.push(failed(table, table.errors.join('; '), 0));
              continue;
            }
            reader ??= await openReader(() =>
              connectors.target(target.name).connect(signal ? { signal } : {}),
            );
            connectors.step(`${pairName(table)}: comparing with the source`);
            tables.push(await verifyOne(table, source, reader));
          }
        } catch (error) {
          if (signal?.aborted) throw error;
          const message = error instanceof Error ? error.message : String(error);
          for (const table of target.tables.filter((t) => !tables.some((v) => sameTable(v, t)))) {
            tables.push(failed(table, message, 0));
          }
        } finally {
          if (reader) await endClient(reader);
        }
      }
    } finally {
      await endClient(source);
    }
    const status = tables.some((t) => t.status === 'error')
      ? 'error'
      : tables.some((t) => t.status === 'mismatch')
        ? 'mismatch'
        : 'match';
    return { status, tables };
  } finally {
    await connectors.close();
  }
}

function sameTable(v: TableVerification, t: TablePlan): boolean {
  return v.target === t.targetName && v.table === t.targetTable;
}

function failed(table: TablePlan, message: string, seconds: number): TableVerification {
  return {
    target: table.targetName,
    source: table.sourceTable,
    table: table.targetTable,
    status: 'error',
    // A failed checksum's error may quote a value (a conversion's input).
    message: table.redactValues ? redactMessage(message) : message,
    seconds,
  };
}

/** One pair; a query that fails (a missing column...) fails this pair, inside a savepoint. */
async function verifyOne(
  table: TablePlan,
  source: pg.Client,
  target: pg.Client,
): Promise<TableVerification> {
  const started = performance.now();
  const seconds = (): number => Math.round(performance.now() - started) / 1000;
  let sourceSum: TableChecksum;
  let targetSum: TableChecksum;
  try {
    // The readers' sessions are set up as the copy's are: their zones are the copy's.
    const zones = await copyZones(table, source, target);
    const zone = checksumZone(table, zones);
    sourceSum = await guarded(source, () =>
      checksum(source, sourceChecksumSql(table, zones), zone),
    );
    targetSum = await guarded(target, () =>
      checksum(target, targetChecksumSql(table, 'table'), zone),
    );
  } catch (error) {
    return failed(table, error instanceof Error ? error.message : String(error), seconds());
  }
  const { mismatch } = compare(table, sourceSum, targetSum);
  return {
    target: table.targetName,
    source: table.sourceTable,
    table: table.targetTable,
    status: mismatch ? 'mismatch' : 'match',
    sourceRows: sourceSum.rows,
    targetRows: targetSum.rows,
    ...(mismatch ? { message: mismatch } : {}),
    seconds: seconds(),
  };
}

/** Runs `work` in a savepoint, so that its failure leaves the snapshot's transaction usable. */
async function guarded<T>(client: pg.Client, work: () => Promise<T>): Promise<T> {
  await client.query('SAVEPOINT pgcopy_verify');
  try {
    const value = await work();
    await client.query('RELEASE SAVEPOINT pgcopy_verify');
    return value;
  } catch (error) {
    await client.query('ROLLBACK TO SAVEPOINT pgcopy_verify');
    throw error;
  }
}
