import { CopyData, CopyDone } from './protocol.js';

const CopyOutResponse = 0x48; // 'H'

/** Messages the server may send inside COPY OUT besides CopyData: skipped. */
const SKIPPED = new Set([
  CopyOutResponse,
  0x4e, // 'N' NoticeResponse
  0x53, // 'S' ParameterStatus
  0x41, // 'A' NotificationResponse
]);

/**
 * The results of the statements a query string runs before its COPY (a transaction's BEGIN and
 * SET statements in the same string): skipped too, until the CopyOutResponse.
 */
const BEFORE_COPY = new Set([
  0x43, // 'C' CommandComplete
  0x54, // 'T' RowDescription
  0x44, // 'D' DataRow
  0x49, // 'I' EmptyQueryResponse
]);

// Where the parser is: at a message's type byte, inside its length, inside its body.
const TYPE = 0;
const LENGTH = 1;
const BODY = 2;

/** What one socket read held. */
export interface ParsedRead {
  /** The read's COPY data (its CopyData payloads, in order), empty if it had none. */
  readonly data: Buffer;
  /**
   * Set when the COPY OUT is over: the bytes from the first message after it on (CopyDone is
   * consumed; an ErrorResponse or anything unexpected is not), which belong to pg's parser.
   */
  readonly rest?: Buffer;
  /** Why it is over: CopyDone, or the type byte of the message that ended it. */
  readonly ended?: 'done' | number;
}

/**
 * The framing of COPY OUT (`d` + int32 length + payload), per message: the type byte and the
 * length, nothing made per row. PostgreSQL sends a CopyData message per row; the payloads of a
 * socket read are moved together inside the read's own buffer (over the 5-byte headers between
 * them), so a read's COPY data is one slice of it and goes to the target as one CopyData message:
 * the target parses one message per read rather than one per row (the target's backend is the
 * busiest process of a copy). Messages may be cut anywhere by the ends of reads.
 */
export class CopyOutParser {
  /** Payload bytes seen so far. */
  bytes = 0;
  private state = TYPE;
  private type = 0;
  private lengthBytes = 0;
  private remaining = 0;
  /** The CopyOutResponse came: what follows is the COPY's. */
  private copying = false;

  /** Parses one read. It moves the read's payloads to its start: the read must be the caller's. */
  parse(chunk: Buffer): ParsedRead {
    const end = chunk.length;
    let filled = 0;
    const payload = (from: number, to: number): void => {
      chunk.copyWithin(filled, from, to);
      filled += to - from;
    };
    let pos = 0;
    let ended: ParsedRead['ended'];
    while (ended === undefined && (pos < end || (this.state === BODY && this.remaining === 0))) {
      if (this.state === BODY) {
        // The rest of a message that an earlier read began.
        const n = Math.min(end - pos, this.remaining);
        if (this.type === CopyData) payload(pos, pos + n);
        pos += n;
        this.remaining -= n;
        if (this.remaining > 0) break;
        this.state = TYPE;
        if (this.type === CopyDone) ended = 'done';
      } else if (this.state === LENGTH) {
        // A length cut by the end of a read: byte by byte.
        this.remaining = this.remaining * 256 + (chunk[pos] as number);
        pos += 1;
        this.lengthBytes += 1;
        if (this.lengthBytes === 4) {
          this.remaining -= 4; // the length counts itself
          this.state = BODY;
        }
      } else {
        const type = chunk[pos] as number;
        if (type === CopyOutResponse) this.copying = true;
        const skipped = SKIPPED.has(type) || (!this.copying && BEFORE_COPY.has(type));
        if (type !== CopyData && type !== CopyDone && !skipped) {
          ended = type;
          break;
        }
        const whole = pos + 5 <= end ? pos + 1 + chunk.readUInt32BE(pos + 1) : Infinity;
        if (type === CopyData && whole <= end) {
          // The common case: a whole row in this read.
          payload(pos + 5, whole);
          pos = whole;
          continue;
        }
        this.type = type;
        if (whole <= end) {
          pos = whole;
          if (type === CopyDone) ended = 'done';
        } else if (whole === Infinity) {
          this.state = LENGTH;
          this.lengthBytes = 0;
          this.remaining = 0;
          pos += 1;
        } else {
          this.state = BODY;
          this.remaining = whole - pos - 5;
          pos += 5;
        }
      }
    }
    this.bytes += filled;
    const data = chunk.subarray(0, filled);
    return ended === undefined ? { data } : { data, rest: chunk.subarray(pos), ended };
  }
}
