import { SyncError } from '../errors.js';
import type {
  Change,
  RelationColumn,
  SourceRelation,
  TransactionBegin,
  TransactionCommit,
  Tuple,
  TupleValue,
} from './types.js';
import { UNCHANGED_TOAST } from './types.js';

/**
 * One pgoutput message of protocol version 1 (PostgreSQL's "Logical Replication Message Formats"),
 * as `pg_logical_slot_peek_binary_changes(..., 'proto_version', '1', ...)` returns them.
 */
export type PgoutputMessage =
  | { readonly kind: 'begin'; readonly begin: TransactionBegin }
  | { readonly kind: 'commit'; readonly commit: TransactionCommit }
  | { readonly kind: 'relation'; readonly relation: SourceRelation }
  | {
      readonly kind: 'type';
      readonly typeOid: number;
      readonly schema: string;
      readonly name: string;
    }
  | { readonly kind: 'origin'; readonly lsn: bigint; readonly name: string }
  | {
      readonly kind: 'message';
      readonly transactional: boolean;
      readonly lsn: bigint;
      readonly prefix: string;
      readonly content: Buffer;
    }
  | { readonly kind: 'change'; readonly change: Change };

/** PostgreSQL's epoch (2000-01-01) in Unix milliseconds: pgoutput's timestamps count from it. */
const PG_EPOCH_MS = 946_684_800_000;

const REPLICA_IDENTITIES = new Set(['d', 'n', 'f', 'i']);

/** Reads big-endian fields from one message, failing with the message kind when it runs short. */
class MessageReader {
  private pos = 1;

  constructor(private readonly data: Buffer) {}

  private need(bytes: number): void {
    if (this.pos + bytes > this.data.length) {
      throw new SyncError(
        `pgoutput message '${String.fromCharCode(this.data[0] ?? 0)}' ends early (${this.data.length} bytes)`,
      );
    }
  }

  byte(): number {
    this.need(1);
    return this.data[this.pos++] as number;
  }

  int16(): number {
    this.need(2);
    const value = this.data.readInt16BE(this.pos);
    this.pos += 2;
    return value;
  }

  int32(): number {
    this.need(4);
    const value = this.data.readInt32BE(this.pos);
    this.pos += 4;
    return value;
  }

  uint32(): number {
    this.need(4);
    const value = this.data.readUInt32BE(this.pos);
    this.pos += 4;
    return value;
  }

  int64(): bigint {
    this.need(8);
    const value = this.data.readBigInt64BE(this.pos);
    this.pos += 8;
    return value;
  }

  timestamp(): Date {
    return new Date(PG_EPOCH_MS + Number(this.int64() / 1000n));
  }

  /** A NUL-terminated string. */
  string(): string {
    const end = this.data.indexOf(0, this.pos);
    if (end < 0) this.need(this.data.length);
    const value = this.data.toString('utf8', this.pos, end);
    this.pos = end + 1;
    return value;
  }

  bytes(length: number): Buffer {
    this.need(length);
    const value = this.data.subarray(this.pos, this.pos + length);
    this.pos += length;
    return value;
  }
}

/**
 * Decodes the messages of one slot read, in order. Relation messages are remembered by id (a
 * change names its relation by id only, and a Relation message comes again when it changes).
 */
export class PgoutputDecoder {
  private readonly relations = new Map<number, SourceRelation>();

  decode(data: Buffer): PgoutputMessage {
    const reader = new MessageReader(data);
    const type = data[0];
    switch (type) {
      case 0x42: // 'B'
        return { kind: 'begin', begin: this.begin(reader) };
      case 0x43: // 'C'
        return { kind: 'commit', commit: this.commit(reader) };
      case 0x52: // 'R'
        return { kind: 'relation', relation: this.relation(reader) };
      case 0x59: // 'Y'
        return {
          kind: 'type',
          typeOid: reader.uint32(),
          schema: reader.string(),
          name: reader.string(),
        };
      case 0x4f: // 'O'
        return { kind: 'origin', lsn: reader.int64(), name: reader.string() };
      case 0x4d: {
        // 'M': transactional flag, LSN, prefix, content
        const transactional = reader.byte() !== 0;
        const lsn = reader.int64();
        const prefix = reader.string();
        return {
          kind: 'message',
          transactional,
          lsn,
          prefix,
          content: reader.bytes(reader.int32()),
        };
      }
      case 0x49: // 'I'
        return { kind: 'change', change: this.insert(reader) };
      case 0x55: // 'U'
        return { kind: 'change', change: this.update(reader) };
      case 0x44: // 'D'
        return { kind: 'change', change: this.delete(reader) };
      case 0x54: // 'T'
        return { kind: 'change', change: this.truncate(reader) };
      default:
        throw new SyncError(
          `unknown pgoutput message type ${type === undefined ? '(empty message)' : `'${String.fromCharCode(type)}'`}`,
        );
    }
  }

  private begin(reader: MessageReader): TransactionBegin {
    const commitLsn = reader.int64();
    const commitTime = reader.timestamp();
    return { commitLsn, commitTime, xid: reader.uint32() };
  }

  private commit(reader: MessageReader): TransactionCommit {
    reader.byte(); // flags, unused
    const commitLsn = reader.int64();
    const endLsn = reader.int64();
    return { commitLsn, endLsn, commitTime: reader.timestamp() };
  }

  private relation(reader: MessageReader): SourceRelation {
    const id = reader.uint32();
    // An empty namespace is pg_catalog (pgoutput's shorthand).
    const schema = reader.string() || 'pg_catalog';
    const table = reader.string();
    const identity = String.fromCharCode(reader.byte());
    if (!REPLICA_IDENTITIES.has(identity)) {
      throw new SyncError(`unknown replica identity '${identity}' of ${schema}.${table}`);
    }
    const count = reader.int16();
    const columns: RelationColumn[] = [];
    for (let i = 0; i < count; i++) {
      const key = (reader.byte() & 1) === 1;
      const name = reader.string();
      columns.push({ name, key, typeOid: reader.uint32(), typeMod: reader.int32() });
    }
    const relation: SourceRelation = {
      id,
      schema,
      table,
      replicaIdentity: identity as SourceRelation['replicaIdentity'],
      columns,
    };
    this.relations.set(id, relation);
    return relation;
  }

  private relationOf(reader: MessageReader): SourceRelation {
    const id = reader.uint32();
    const relation = this.relations.get(id);
    // pgoutput sends a relation before its first change in every decoding session.
    if (!relation)
      throw new SyncError(`pgoutput change for relation ${id}, which was never described`);
    return relation;
  }

  private tuple(reader: MessageReader, relation: SourceRelation): Tuple {
    const count = reader.int16();
    if (count !== relation.columns.length) {
      throw new SyncError(
        `pgoutput row of ${relation.schema}.${relation.table} has ${count} columns, its relation ${relation.columns.length}`,
      );
    }
    const values: TupleValue[] = [];
    for (let i = 0; i < count; i++) {
      const kind = reader.byte();
      if (kind === 0x74)
        values.push(reader.bytes(reader.int32()).toString('utf8')); // 't'
      else if (kind === 0x6e)
        values.push(null); // 'n'
      else if (kind === 0x75)
        values.push(UNCHANGED_TOAST); // 'u'
      else throw new SyncError(`unknown pgoutput value kind '${String.fromCharCode(kind)}'`);
    }
    return values;
  }

  private insert(reader: MessageReader): Change {
    const relation = this.relationOf(reader);
    reader.byte(); // 'N'
    return { kind: 'insert', relation, row: this.tuple(reader, relation) };
  }

  private update(reader: MessageReader): Change {
    const relation = this.relationOf(reader);
    const marker = reader.byte();
    let old: { kind: 'key' | 'full'; row: Tuple } | undefined;
    if (marker === 0x4b || marker === 0x4f) {
      // 'K' (the old key) or 'O' (the whole old row), then 'N'
      old = { kind: marker === 0x4b ? 'key' : 'full', row: this.tuple(reader, relation) };
      reader.byte(); // 'N'
    }
    const row = this.tuple(reader, relation);
    return old ? { kind: 'update', relation, old, row } : { kind: 'update', relation, row };
  }

  private delete(reader: MessageReader): Change {
    const relation = this.relationOf(reader);
    const marker = reader.byte();
    const kind = marker === 0x4f ? 'full' : 'key';
    return { kind: 'delete', relation, old: { kind, row: this.tuple(reader, relation) } };
  }

  private truncate(reader: MessageReader): Change {
    const count = reader.int32();
    const options = reader.byte();
    const relations: SourceRelation[] = [];
    for (let i = 0; i < count; i++) relations.push(this.relationOf(reader));
    return {
      kind: 'truncate',
      relations,
      cascade: (options & 1) === 1,
      restartIdentity: (options & 2) === 2,
    };
  }
}
