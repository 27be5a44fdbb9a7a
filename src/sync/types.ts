/**
 * What `pgcopy sync` moves: a source transaction read from a logical replication slot (pgoutput),
 * decoded into changes, applied to each target through that target's column mapping. Shared by the
 * slot reader (src/sync/read-slot.ts), the applier (src/sync/target-applier.ts) and the lifecycle
 * (src/sync/sync.ts).
 */

/** A WAL position, parsed from PostgreSQL's `X/Y` text form (see lsn.ts). */
export type Lsn = bigint;

/** A column of a source relation as pgoutput's Relation message describes it. */
export interface RelationColumn {
  readonly name: string;
  /** Part of the replica identity (the key pgoutput sends as the old tuple of an update/delete). */
  readonly key: boolean;
  readonly typeOid: number;
  readonly typeMod: number;
}

/** A source relation (pgoutput's Relation message); sent again when it changes. */
export interface SourceRelation {
  readonly id: number;
  readonly schema: string;
  readonly table: string;
  /** pg_class.relreplident: d (default: the primary key), n (nothing), f (full), i (an index). */
  readonly replicaIdentity: 'd' | 'n' | 'f' | 'i';
  readonly columns: readonly RelationColumn[];
}

/** An unchanged TOASTed value pgoutput did not send: the target keeps its value. */
export const UNCHANGED_TOAST: unique symbol = Symbol('unchanged TOAST value');

/** One column's value, in PostgreSQL's text form, as pgoutput sends it. */
export type TupleValue = string | null | typeof UNCHANGED_TOAST;

/** A row: one value per column of its relation, in the relation's column order. */
export type Tuple = readonly TupleValue[];

export type Change =
  | { readonly kind: 'insert'; readonly relation: SourceRelation; readonly row: Tuple }
  | {
      readonly kind: 'update';
      readonly relation: SourceRelation;
      /** The old key (`key`) or the whole old row (`full`); absent when the key did not change. */
      readonly old?: { readonly kind: 'key' | 'full'; readonly row: Tuple };
      readonly row: Tuple;
    }
  | {
      readonly kind: 'delete';
      readonly relation: SourceRelation;
      readonly old: { readonly kind: 'key' | 'full'; readonly row: Tuple };
    }
  | {
      readonly kind: 'truncate';
      readonly relations: readonly SourceRelation[];
      readonly cascade: boolean;
      readonly restartIdentity: boolean;
    };

/** A source transaction's Begin message. */
export interface TransactionBegin {
  readonly xid: number;
  /**
   * Where the commit record begins (pgoutput's Begin carries this; the end, which positions record,
   * comes with the Commit). Commit records follow each other, so the transaction is new to a table
   * whose position (the end of the last transaction applied to it) is at or before this LSN.
   */
  readonly commitLsn: Lsn;
  readonly commitTime: Date;
}

/** A source transaction's Commit message. */
export interface TransactionCommit {
  readonly commitLsn: Lsn;
  readonly endLsn: Lsn;
  readonly commitTime: Date;
}

/**
 * Receives one source transaction at a time, in commit order: begin, its changes, commit. Each call
 * is awaited before the next message is read, so a slow target holds the reader back (bounded
 * memory, whatever the transaction's size).
 */
export interface ChangeSink {
  begin(transaction: TransactionBegin): Promise<void>;
  change(change: Change): Promise<void>;
  commit(transaction: TransactionCommit): Promise<void>;
}

/** How one source table's changes reach one target table (from the plan's TablePlan). */
export interface TableMapping {
  readonly sourceSchema: string;
  readonly sourceTable: string;
  readonly targetSchema: string;
  readonly targetTable: string;
  /** Source column name -> target column name, for every written column (shared, not excluded, renamed). */
  readonly columns: ReadonlyMap<string, string>;
  /** `insert-only`: updates and deletes of this table are not applied (config opt-in). */
  readonly insertOnly?: boolean;
  /** The target table is partitioned: TRUNCATE cannot name it with ONLY. */
  readonly targetPartitioned?: boolean;
  /** Inserts need OVERRIDING SYSTEM VALUE (a GENERATED ALWAYS identity among the written columns). */
  readonly overridingSystemValue?: boolean;
  /** Target columns that are GENERATED ALWAYS identities: never SET by an update. */
  readonly identityAlways?: readonly string[];
}

/** What a target applied during one sync, per kind of change. */
export interface AppliedCounts {
  inserts: number;
  updates: number;
  deletes: number;
  truncates: number;
  transactions: number;
}
