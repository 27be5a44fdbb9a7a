import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { pairName } from '../../plan/types.js';
import { columnDefinitions, insertSelectSql, selectSourceSql } from '../sql.js';
import {
  createForeignTable,
  dropForeignServer,
  extensionSchema,
  foreignTableOn,
  serverLinkOf,
} from './server-link.js';
import type { CopyStrategy, LoadContext, Loaded } from './types.js';
import { LEDGER_TABLE, foreignLedgerColumns, recordSql } from '../../ledger/ledger-sql.js';

/** Rows per remote INSERT postgres_fdw sends (batch_size; one row at a time otherwise). */
export const FDW_BATCH_SIZE = 1_000;

/** postgres_fdw took `batch_size` in PostgreSQL 14; an older one refuses the option (HV00D). */
const BATCH_SIZE_VERSION = 140_000;

/** The foreign server's batch_size where the source's postgres_fdw knows it. */
async function batchOptions(source: pg.ClientBase): Promise<Record<string, string>> {
  const { rows } = await source.query<{ version: number }>(
    `SELECT current_setting('server_version_num')::int AS version`,
  );
  return (rows[0]?.version ?? 0) >= BATCH_SIZE_VERSION
    ? { batch_size: String(FDW_BATCH_SIZE) }
    : {};
}

/** A setting's value as PostgreSQL shows it (`300ms`, `0`, `1min`): safe in libpq's `options`. */
const SETTING_VALUE = /^[0-9]+[a-z]*$/;

/**
 * The target session's lock_timeout and statement_timeout (the run set them, see timeoutSql), as
 * the libpq `options` of the session postgres_fdw opens to the target: the rows are written
 * there, and a lock the push waits for must end at lockTimeout as pgcopy's own sessions do.
 */
async function remoteTimeouts(target: pg.ClientBase): Promise<Record<string, string>> {
  const { rows } = await target.query<{ lock: string; statement: string }>(
    `SELECT current_setting('lock_timeout') AS lock, current_setting('statement_timeout') AS statement`,
  );
  const settings = Object.entries({
    lock_timeout: rows[0]?.lock,
    statement_timeout: rows[0]?.statement,
  }).filter((e): e is [string, string] => e[1] !== undefined && SETTING_VALUE.test(e[1]));
  if (settings.length === 0) return {};
  return { options: settings.map(([name, value]) => `-c ${name}=${value}`).join(' ') };
}

/**
 * Pushes from the source through postgres_fdw, for topologies where only the source's server can
 * reach the target: a foreign server, user mapping and foreign table (in pg_temp, with the source's
 * column types) made and dropped inside the source's snapshot transaction, then `INSERT ... SELECT`
 * from the source table. postgres_fdw commits its remote transaction when the source transaction
 * commits, and rolls it back when it rolls back: copy-pair commits the source first.
 */
export const fdwPushStrategy: CopyStrategy = {
  writesOnSource: true,
  async load({
    plan,
    source,
    target,
    targetSpec,
    watchRemote,
    ledger,
  }: LoadContext): Promise<Loaded> {
    await extensionSchema(source, 'postgres_fdw', pairName(plan));
    // Its own name, by which the lock-wait monitor finds the session on the target.
    const applicationName = `pgcopy_push_${randomBytes(6).toString('hex')}`;
    const { server, foreign } = await createForeignTable(
      source,
      { ...(await serverLinkOf(targetSpec)), applicationName },
      { ...(await batchOptions(source)), ...(await remoteTimeouts(target)) },
      {
        columns: columnDefinitions(plan, 'source'),
        remoteSchema: plan.targetSchema,
        remoteTable: plan.targetTable,
      },
    );
    const watch = watchRemote?.(applicationName);
    let inserted: pg.QueryResult;
    try {
      // postgres_fdw sends ONLY on to the remote TRUNCATE (refused for a partitioned table).
      if (plan.mode === 'truncate') {
        await source.query(`TRUNCATE ${plan.targetKind === 'p' ? '' : 'ONLY '}${foreign}`);
      }
      inserted = await source.query(
        insertSelectSql(plan, foreign, `(${selectSourceSql(plan)}) AS source_rows`),
      );
      if (ledger) {
        // The record goes in the rows' remote transaction (the same server, the same connection).
        const entry = ledger.entry(inserted.rowCount ?? 0, []);
        const into = await foreignTableOn(source, server, {
          columns: foreignLedgerColumns(entry.sourceLsn !== undefined),
          remoteSchema: ledger.schema,
          remoteTable: LEDGER_TABLE,
        });
        await source.query(recordSql(ledger.schema, entry, into));
      }
    } finally {
      watch?.[Symbol.dispose]();
    }
    await dropForeignServer(source, server);
    const count = inserted.rowCount ?? 0;
    return { rows: count, written: count, bytes: 0 };
  },
};
