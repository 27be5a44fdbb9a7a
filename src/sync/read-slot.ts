import type pg from 'pg';
import { BinaryCopyRows } from '../copy/wire/binary-copy-rows.js';
import { CopyOutReader } from '../copy/wire/copy-out-reader.js';
import { sendCancel } from '../db/cancel-on-abort.js';
import { quoteIdent, quoteLiteral } from '../db/quote.js';
import { SyncError, sqlstateOf } from '../errors.js';
import { formatLsn, parseLsn } from './lsn.js';
import { PgoutputDecoder } from './pgoutput.js';
import type { ChangeSink, Lsn } from './types.js';

export interface ReadSlotOptions {
  readonly slot: string;
  readonly publications: readonly string[];
  /** Read the transactions that commit up to this position (PostgreSQL's upto_lsn). */
  readonly upto?: Lsn;
  /**
   * Stop at the first commit past this many messages (upto_nchanges: begin, each change and commit
   * count one): transactions are always read whole.
   */
  readonly maxChanges?: number;
  /** Once aborted, the transaction being given to the sink is finished and the read ends. */
  readonly signal?: AbortSignal;
}

export interface ReadSlotResult {
  /** Source transactions given to the sink whole (begin, changes, commit). */
  readonly transactions: number;
  /** The end of the last of them, undefined when there was none. */
  readonly lastEndLsn: Lsn | undefined;
  /** The read ended early: the signal was aborted. */
  readonly stopped: boolean;
}

/** How long a read being stopped is drained before its query is cancelled on the server. */
const DRAIN_BEFORE_CANCEL_MS = 250;

/** `COPY (SELECT data FROM pg_logical_slot_peek_binary_changes(...)) TO STDOUT (FORMAT binary)`. */
export function peekSql(options: Omit<ReadSlotOptions, 'signal'>): string {
  // pgoutput splits publication_names like an identifier list: each name is quoted as one.
  const publications = options.publications.map(quoteIdent).join(',');
  const upto =
    options.upto === undefined ? 'NULL' : `${quoteLiteral(formatLsn(options.upto))}::pg_lsn`;
  const max =
    options.maxChanges === undefined ? 'NULL' : String(Math.max(1, Math.trunc(options.maxChanges)));
  return (
    `COPY (SELECT data FROM pg_logical_slot_peek_binary_changes(${quoteLiteral(options.slot)}, ` +
    `${upto}, ${max}, 'proto_version', '1', 'publication_names', ${quoteLiteral(publications)})) ` +
    'TO STDOUT (FORMAT binary)'
  );
}

/**
 * Streams a logical slot's changes into the sink, one message at a time, through the SQL interface
 * (no replication connection). The server decodes into a tuplestore that spills to disk; this
 * process holds one message at a time and awaits the sink before reading on, so memory is bounded
 * whatever the size of a transaction. Peeking never moves the slot: that is `advanceSlot`'s job.
 * If the sink fails, the read is stopped (the source connection stays usable) and its error thrown.
 */
export async function readSlot(
  source: pg.ClientBase,
  options: ReadSlotOptions,
  sink: ChangeSink,
): Promise<ReadSlotResult> {
  const { signal } = options;
  signal?.throwIfAborted();
  const reader = source.query(new CopyOutReader(peekSql(options)));
  const iterator = reader[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const rows = new BinaryCopyRows();
  const decoder = new PgoutputDecoder();
  // Written by deliver: an object, so that the checks after the loop see its writes.
  const progress = {
    transactions: 0,
    lastEndLsn: undefined as Lsn | undefined,
    inTransaction: false,
  };
  let stop: { reason: 'aborted' } | { reason: 'failed'; error: unknown } | undefined;

  /** Gives one message to the sink; true when the read should stop after it. */
  const deliver = async (data: Buffer): Promise<boolean> => {
    const message = decoder.decode(data);
    switch (message.kind) {
      case 'begin':
        progress.inTransaction = true;
        await sink.begin(message.begin);
        return false;
      case 'change':
        await sink.change(message.change);
        return false;
      case 'commit':
        await sink.commit(message.commit);
        progress.inTransaction = false;
        progress.transactions += 1;
        progress.lastEndLsn = message.commit.endLsn;
        return signal?.aborted === true;
      default:
        // Relation messages are kept by the decoder; types, origins and messages are not applied.
        return false;
    }
  };

  let cancelTimer: NodeJS.Timeout | undefined;
  try {
    for (;;) {
      let next: IteratorResult<Buffer>;
      try {
        next = await iterator.next();
      } catch (error) {
        // Our own cancel of a read that was being stopped: the stop's outcome stands.
        if (stop && sqlstateOf(error) === '57014') break;
        throw readError(options.slot, error);
      }
      if (next.done === true) break;
      if (stop) continue; // draining what the server still sends
      try {
        for (const row of rows.push(next.value)) {
          const data = row[0];
          if (data === null || data === undefined) continue;
          if (await deliver(data)) {
            stop = { reason: 'aborted' };
            break;
          }
        }
      } catch (error) {
        stop = { reason: 'failed', error };
      }
      if (stop) cancelTimer = cancelLater(source);
    }
  } finally {
    clearTimeout(cancelTimer);
  }
  if (stop?.reason === 'failed') throw stop.error;
  if (progress.inTransaction && !stop) {
    throw new SyncError(`slot ${options.slot}: the read ended inside a transaction`);
  }
  const { transactions, lastEndLsn } = progress;
  return { transactions, lastEndLsn, stopped: stop !== undefined };
}

/** Cancels the running read after a short drain (most reads end on their own by then). */
function cancelLater(source: pg.ClientBase): NodeJS.Timeout {
  const client = source as unknown as Partial<{
    host: string;
    port: number;
    processID: number | null;
    secretKey: number | null;
  }>;
  return setTimeout(() => {
    const { host, port } = client;
    if (host === undefined || port === undefined || host.startsWith('/')) return;
    void sendCancel(
      { host, port },
      { processID: client.processID ?? null, secretKey: client.secretKey ?? null },
      2_000,
    );
  }, DRAIN_BEFORE_CANCEL_MS);
}

function readError(slot: string, error: unknown): unknown {
  const sqlstate = sqlstateOf(error);
  if (sqlstate === undefined) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new SyncError(`reading slot ${slot}: ${message}`, { cause: error, sqlstate });
}

/**
 * Moves the slot's confirmed position forward to `lsn`, so the source may recycle the WAL before it.
 * Never backwards (PostgreSQL refuses that; here it is a no-op). Returns the slot's position after.
 */
export async function advanceSlot(source: pg.ClientBase, slot: string, lsn: Lsn): Promise<Lsn> {
  const current = await source.query<{ confirmed: string | null }>(
    'SELECT confirmed_flush_lsn::text AS confirmed FROM pg_replication_slots WHERE slot_name = $1',
    [slot],
  );
  const row = current.rows[0];
  if (!row) throw new SyncError(`replication slot ${slot} does not exist`);
  const confirmed = row.confirmed === null ? undefined : parseLsn(row.confirmed);
  if (confirmed !== undefined && lsn <= confirmed) return confirmed;
  const moved = await source.query<{ end_lsn: string }>(
    'SELECT end_lsn::text AS end_lsn FROM pg_replication_slot_advance($1, $2::pg_lsn)',
    [slot, formatLsn(lsn)],
  );
  return parseLsn(moved.rows[0]?.end_lsn ?? formatLsn(lsn));
}
