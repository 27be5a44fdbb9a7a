import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { SyncError, SyncSchemaError, describeError, sqlstateOf } from '../errors.js';
import { qualifiedName, quoteIdent } from '../db/quote.js';
import { literal, TableStatements, type Statement } from './change-sql.js';
import { addCounts, zeroCounts } from './applied-counts.js';
import { minLsn } from './lsn.js';
import { movePositionsSql, positionKey, type TargetTableName } from './sync-state.js';
import type {
  AppliedCounts,
  Change,
  ChangeSink,
  Lsn,
  SourceRelation,
  TableMapping,
  TransactionBegin,
  TransactionCommit,
  Tuple,
} from './types.js';

/** When the open target transaction is committed (at a source commit, never inside one). */
export interface ApplierBatch {
  /** Source transactions per target transaction. */
  readonly transactions?: number;
  /** SQL text held before it is sent (a big source transaction is sent in pieces of this size). */
  readonly bytes?: number;
  /** A target transaction older than this is committed at the next source commit. */
  readonly maxMs?: number;
}

export interface TargetApplierOptions {
  /** A target connection of the applier's own, idle, outside any transaction. */
  readonly client: pg.ClientBase;
  readonly slot: string;
  /** The schema of the ledger and of sync_state (options.ledgerSchema). */
  readonly ledgerSchema: string;
  readonly mappings: readonly TableMapping[];
  /** sync_state's positions (readPositions), keyed by positionKey of the target table. */
  readonly positions: ReadonlyMap<string, Lsn>;
  readonly batch?: ApplierBatch;
  /** Names the target in error messages. */
  readonly targetName?: string;
  /** Every SQL text sent (tests, --debug). */
  readonly onSql?: (text: string) => void;
}

const DEFAULT_BATCH = { transactions: 5_000, bytes: 1 << 20, maxMs: 1_000 } as const;

/**
 * Applies a slot's changes to one target. A change to a table the target maps goes through the
 * mapping as an EXECUTE of a statement prepared once per table and shape, its values as literals
 * (consecutive inserts into one table as one multi-row INSERT), many statements to a query. A
 * table takes a transaction only when its position (sync_state) is at or before the transaction's
 * commit: a table without a position has not been copied and takes nothing.
 *
 * One target transaction holds one or more whole source transactions and the move of the
 * positions to the last one's end, and commits with them: a failure anywhere leaves the target as
 * of a source commit, and the positions say which. A big source transaction is sent in pieces
 * inside the open target transaction (bounded memory) and commits at its source commit. One query
 * is in flight while the next is built. After an error, call discard() (or end the client).
 *
 * TRUNCATE names the target tables with ONLY (not a partitioned one) and restarts identities when
 * the source did; never CASCADE: the source's cascade lists each table it truncated, and a target
 * table the mapping does not name is not this sync's to empty (the TRUNCATE then fails instead).
 */
export class TargetApplier implements ChangeSink {
  /** What committed so far. */
  readonly counts: AppliedCounts = zeroCounts();
  private readonly batchLimits: Required<ApplierBatch>;
  private readonly mappingBySource = new Map<string, TableMapping>();
  private readonly statements = new WeakMap<SourceRelation, TableStatements | null>();
  /** Source relations (pgoutput's ids) this applier mapped, by the name they had. */
  private readonly mappedIds = new Map<number, string>();
  /** Positions as committed (a table without one has not been copied: it takes no changes). */
  private readonly positions: Map<string, Lsn>;
  /** Target tables with a position: the ones a commit moves. */
  private readonly positioned: TargetTableName[];

  /** The source transaction being read. */
  private current: TransactionBegin | undefined;
  /** SQL built, not sent. */
  private pending: string[] = [];
  private pendingBytes = 0;
  /** Rows for one INSERT, merged while consecutive inserts go to one table. */
  private insert: { table: TableStatements; values: string[]; first: Tuple } | undefined;
  /** Statements prepared on the target connection, by text: each change runs as an EXECUTE. */
  private readonly prepared = new Map<string, string>();
  /**
   * PREPAREs not sent yet: each goes in a small query of its own before the batch that uses it
   * (EXECUTE copies the text of the query its statement was prepared in, every time).
   */
  private toPrepare: string[] = [];
  /** Names this applier's prepared statements apart from any other on the connection. */
  private readonly preparedPrefix = `pgcopy_sync_${randomBytes(4).toString('hex')}`;
  /** A BEGIN was sent: the target transaction is open. */
  private open = false;
  /** The batch: its source transactions, their last end, what they applied. */
  private batchTransactions = 0;
  private batchStarted = 0;
  private batchEnd: Lsn | undefined;
  private batchCounts = zeroCounts();
  /** The current source transaction applied something here. */
  private currentApplied = false;
  private inFlight: Promise<void> | undefined;
  private failure: unknown;

  constructor(private readonly options: TargetApplierOptions) {
    this.batchLimits = { ...DEFAULT_BATCH, ...options.batch };
    for (const mapping of options.mappings) {
      this.mappingBySource.set(qualifiedName(mapping.sourceSchema, mapping.sourceTable), mapping);
    }
    this.positions = new Map(options.positions);
    this.positioned = options.mappings
      .filter((m) => this.positions.has(positionKey(m.targetSchema, m.targetTable)))
      .map((m) => ({ schema: m.targetSchema, table: m.targetTable }));
  }

  /** The lowest committed position among the mapped tables (undefined: none has one). */
  get appliedLsn(): Lsn | undefined {
    let lowest: Lsn | undefined;
    for (const table of this.positioned) {
      lowest = minLsn(lowest, this.positions.get(positionKey(table.schema, table.table)));
    }
    return lowest;
  }

  begin(transaction: TransactionBegin): Promise<void> {
    this.throwIfFailed();
    if (this.current) throw new SyncError('a source transaction began inside another');
    this.current = transaction;
    this.currentApplied = false;
    return Promise.resolve();
  }

  async change(change: Change): Promise<void> {
    this.throwIfFailed();
    if (!this.current) throw new SyncError('a change came outside a source transaction');
    if (change.kind === 'truncate') {
      const tables = change.relations.flatMap((r) => this.tableFor(r) ?? []);
      if (tables.length === 0) return;
      const restart = change.restartIdentity ? ' RESTART IDENTITY' : '';
      // No CASCADE: the source's cascade truncated tables that each come in this message.
      this.add(`TRUNCATE ${tables.map((t) => t.only).join(', ')}${restart}`);
      this.batchCounts.truncates += tables.length;
    } else {
      const table = this.tableFor(change.relation);
      if (!table) return;
      if (change.kind === 'insert') {
        this.addInsert(table, change.row);
        this.batchCounts.inserts += 1;
      } else if (table.insertOnly) {
        return;
      } else if (change.kind === 'update') {
        const statement = table.update(change.row, change.old);
        if (statement === undefined) return;
        this.execute(statement);
        this.batchCounts.updates += 1;
      } else {
        this.execute(table.delete(change.old));
        this.batchCounts.deletes += 1;
      }
    }
    this.currentApplied = true;
    if (this.pendingBytes >= this.batchLimits.bytes) await this.flush('');
  }

  async commit(transaction: TransactionCommit): Promise<void> {
    this.throwIfFailed();
    if (!this.current) throw new SyncError('a commit came outside a source transaction');
    this.current = undefined;
    if (this.batchTransactions === 0) this.batchStarted = Date.now();
    this.batchTransactions += 1;
    this.batchEnd = transaction.endLsn;
    if (this.currentApplied) this.batchCounts.transactions += 1;
    const limits = this.batchLimits;
    if (
      this.open ||
      this.batchTransactions >= limits.transactions ||
      this.pendingBytes >= limits.bytes ||
      Date.now() - this.batchStarted >= limits.maxMs
    ) {
      await this.commitBatch();
    }
  }

  /**
   * Commits what is pending and waits for it; returns the lowest position among the mapped tables.
   * Called between source transactions (a read that ended, or was stopped, at a commit).
   */
  async finish(): Promise<Lsn | undefined> {
    this.throwIfFailed();
    if (this.current) {
      await this.discard();
      throw new SyncError(
        'the applier was finished inside a source transaction: nothing of it was kept',
      );
    }
    await this.commitBatch();
    await this.settle();
    return this.appliedLsn;
  }

  /** Drops what is pending and rolls the open target transaction back (after a failed read). */
  async discard(): Promise<void> {
    this.current = undefined;
    this.resetBatch();
    await this.inFlight;
    this.inFlight = undefined;
    if (this.open || this.failure !== undefined) {
      this.open = false;
      await this.options.client.query('ROLLBACK').catch(() => undefined);
    }
  }

  /** The table a change goes to, or undefined when this target does not take it now. */
  private tableFor(relation: SourceRelation): TableStatements | undefined {
    let table = this.statements.get(relation);
    if (table === undefined) {
      const name = qualifiedName(relation.schema, relation.table);
      const mapping = this.mappingBySource.get(name);
      const was = this.mappedIds.get(relation.id);
      if (!mapping && was !== undefined) {
        // Renamed on the source while syncing: its changes would be lost without a word.
        throw new SyncSchemaError(
          was,
          undefined,
          `source table ${was} is now named ${relation.schema}.${relation.table}: its changes no longer reach its target table; ` +
            'name it in the config again and copy it again',
        );
      }
      if (mapping) this.mappedIds.set(relation.id, `${relation.schema}.${relation.table}`);
      table = mapping ? new TableStatements(mapping, relation) : null;
      this.statements.set(relation, table);
    }
    if (table === null) return undefined;
    const position = this.positions.get(table.positionKey);
    // Not copied yet, or copied in a snapshot that already holds this transaction.
    if (position === undefined || (this.current?.commitLsn ?? 0n) < position) return undefined;
    return table;
  }

  private addInsert(table: TableStatements, row: Tuple): void {
    const values = table.insertValues(row);
    if (this.insert?.table !== table) {
      this.closeInsert();
      this.insert = { table, values: [], first: row };
      this.pendingBytes += table.insertHead().length;
    }
    this.insert.values.push(values);
    this.pendingBytes += values.length + 2;
  }

  /** Consecutive rows of one table as one INSERT with their literals; a row alone, prepared. */
  private closeInsert(): void {
    const insert = this.insert;
    if (!insert) return;
    this.insert = undefined;
    if (insert.values.length === 1) this.execute(insert.table.insert(insert.first));
    else this.add(insert.table.insertHead() + insert.values.join(', '));
  }

  /** Runs a statement through its prepared statement, prepared (in the same query) on first use. */
  private execute(statement: Statement): void {
    let name = this.prepared.get(statement.shape);
    if (name === undefined) {
      name = quoteIdent(`${this.preparedPrefix}_${this.prepared.size + 1}`);
      this.prepared.set(statement.shape, name);
      this.toPrepare.push(`PREPARE ${name} AS ${statement.shape}`);
    }
    const values = statement.values;
    this.add(
      values.length === 0
        ? `EXECUTE ${name}`
        : `EXECUTE ${name}(${values.map(literal).join(', ')})`,
    );
  }

  private add(sql: string): void {
    this.closeInsert();
    this.pending.push(sql);
    this.pendingBytes += sql.length + 2;
  }

  /** Sends what is pending inside the target transaction (opened here), followed by `tail`. */
  private async flush(tail: string): Promise<void> {
    this.closeInsert();
    if (this.toPrepare.length > 0) {
      const prepares = this.toPrepare.join(';\n');
      this.toPrepare = [];
      await this.send(prepares);
    }
    const parts = [...(this.open ? [] : ['BEGIN']), ...this.pending, ...(tail ? [tail] : [])];
    this.pending = [];
    this.pendingBytes = 0;
    this.open = true;
    await this.send(parts.join(';\n'));
  }

  /** COMMITs the batch with the move of the positions; on success, counts and positions follow. */
  private async commitBatch(): Promise<void> {
    const end = this.batchEnd;
    if (end === undefined) return;
    const tables = this.positioned.filter((t) => {
      const position = this.positions.get(positionKey(t.schema, t.table));
      return position !== undefined && position < end;
    });
    const move = movePositionsSql(this.options.ledgerSchema, this.options.slot, tables, end);
    const counts = this.batchCounts;
    const hasChanges = this.open || this.pending.length > 0 || this.insert !== undefined;
    this.batchTransactions = 0;
    this.batchEnd = undefined;
    this.batchCounts = zeroCounts();
    if (!hasChanges && move === undefined) return;
    await this.flush([...(move ? [move] : []), 'COMMIT'].join(';\n'));
    this.open = false;
    const committed = this.inFlight;
    this.inFlight = committed?.then(() => {
      if (this.failure !== undefined) return;
      addCounts(this.counts, counts);
      for (const t of tables) this.positions.set(positionKey(t.schema, t.table), end);
    });
  }

  private resetBatch(): void {
    this.pending = [];
    this.pendingBytes = 0;
    this.insert = undefined;
    this.batchTransactions = 0;
    this.batchEnd = undefined;
    this.batchCounts = zeroCounts();
  }

  /** Sends one query once the one before it is done: one in flight, the next being built. */
  private async send(text: string): Promise<void> {
    await this.settle();
    this.options.onSql?.(text);
    this.inFlight = this.options.client.query(text).then(
      () => undefined,
      (error: unknown) => {
        this.failure = error;
      },
    );
  }

  private async settle(): Promise<void> {
    await this.inFlight;
    this.inFlight = undefined;
    if (this.failure !== undefined) {
      await this.discard();
      this.throwIfFailed();
    }
  }

  private throwIfFailed(): void {
    const error = this.failure;
    if (error === undefined) return;
    if (error instanceof SyncError) throw error;
    const message = describeError(error);
    const table = (error as { table?: unknown }).table;
    const wrapped = new SyncError(
      `applying changes of slot ${this.options.slot} to target ${this.options.targetName ?? ''}`.trimEnd() +
        `: ${message}`,
      {
        cause: error,
        sqlstate: sqlstateOf(error),
        table: typeof table === 'string' ? table : undefined,
      },
    );
    this.failure = wrapped;
    throw wrapped;
  }
}
