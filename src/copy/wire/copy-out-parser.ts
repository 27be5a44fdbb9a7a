import { CopyData, CopyDone, copyDataHeader } from './protocol.js';

/** Messages the server may send inside COPY OUT besides CopyData: skipped. */
const SKIPPED = new Set([
  0x48, // 'H' CopyOutResponse
  0x4e, // 'N' NoticeResponse
  0x53, // 'S' ParameterStatus
  0x41, // 'A' NotificationResponse
]);

// Where the parser is: at a message's type byte, inside its length, inside its body.
const TYPE = 0;
const LENGTH = 1;
const BODY = 2;

/** What one socket read held. */
export interface ParsedRead {
  /** The read's COPY data: whole CopyData messages (frames) or one buffer of payloads. */
  readonly data: Buffer[];
  /**
   * Set when the COPY OUT is over: the bytes from the first message after it on (CopyDone is
   * consumed; an ErrorResponse or anything unexpected is not), which belong to pg's parser.
   */
  readonly rest?: Buffer;
  /** Why it is over: CopyDone, or the type byte of the message that ended it. */
  readonly ended?: 'done' | number;
}

/**
 * The framing of COPY OUT (`d` + int32 length + payload): per message it reads the type byte and
 * the length and moves on, nothing made per row. In frames mode the output is CopyData messages
 * ready for a COPY FROM (the framing is the same both ways): the messages that lie whole in a
 * read are passed on as slices of it; a message cut by the end of a read goes as one message per
 * part, each with a header of its own, so that every chunk ends on a message boundary (a CopyFail
 * written after any chunk is a message of its own). Otherwise the payloads, gathered in one
 * buffer per read.
 */
export class CopyOutParser {
  /** Payload bytes seen so far. */
  bytes = 0;
  private state = TYPE;
  private type = 0;
  private lengthBytes = 0;
  private remaining = 0;

  constructor(private readonly frames: boolean) {}

  parse(chunk: Buffer): ParsedRead {
    const end = chunk.length;
    const data: Buffer[] = [];
    const gathered = this.frames ? undefined : Buffer.allocUnsafe(end);
    let filled = 0;
    // Frames mode: the start of whole CopyData messages passed on as they are, -1 if none.
    let run = -1;
    const closeRun = (at: number): void => {
      if (run >= 0 && at > run) data.push(chunk.subarray(run, at));
      run = -1;
    };
    const payload = (from: number, to: number): void => {
      this.bytes += to - from;
      if (gathered) filled += chunk.copy(gathered, filled, from, to);
      else data.push(copyDataHeader(to - from), chunk.subarray(from, to));
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
        if (type !== CopyData && type !== CopyDone && !SKIPPED.has(type)) {
          ended = type;
          break;
        }
        const whole = pos + 5 <= end ? pos + 1 + chunk.readUInt32BE(pos + 1) : Infinity;
        if (type === CopyData && whole <= end) {
          // The common case: a whole row in this read.
          if (gathered) payload(pos + 5, whole);
          else {
            if (run < 0) run = pos;
            this.bytes += whole - pos - 5;
          }
          pos = whole;
          continue;
        }
        closeRun(pos);
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
    closeRun(pos);
    if (gathered && filled > 0) data.push(gathered.subarray(0, filled));
    return ended === undefined ? { data } : { data, rest: chunk.subarray(pos), ended };
  }
}
