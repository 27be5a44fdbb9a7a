import { CopyData, CopyDone } from './protocol.js';

/** Messages the server may send inside COPY OUT besides CopyData: skipped. */
const SKIPPED = new Set([
  0x48, // 'H' CopyOutResponse
  0x4e, // 'N' NoticeResponse
  0x53, // 'S' ParameterStatus
  0x41, // 'A' NotificationResponse
]);

// Where the parser is inside a message.
const TYPE = 0;
const LENGTH = 1;
const BODY = 2;

/** What one socket read held. */
export interface ParsedRead {
  /** The COPY data of the read: slices of it (frames) or one buffer of its payloads. */
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
 * The framing of COPY OUT (`d` + int32 length + payload), per message: the type byte and the
 * length, nothing made per row. In frames mode the CopyData messages are passed on whole, as
 * slices of the reads (COPY FROM takes the same framing); otherwise their payloads, gathered in
 * one buffer per read. Messages may be split anywhere between reads.
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
    const frames = this.frames;
    const gathered = frames ? undefined : Buffer.allocUnsafe(end);
    let filled = 0;
    const data: Buffer[] = [];
    // The start of the bytes being passed on, -1 when none are.
    let run =
      this.type === CopyData && (this.state === BODY || (frames && this.state === LENGTH)) ? 0 : -1;
    const close = (at: number): void => {
      if (run < 0) return;
      if (gathered) filled += chunk.copy(gathered, filled, run, at);
      else if (at > run) data.push(chunk.subarray(run, at));
      run = -1;
    };
    let pos = 0;
    let ended: ParsedRead['ended'];
    while (pos < end && ended === undefined) {
      if (this.state === TYPE) {
        const type = chunk[pos] as number;
        if (type !== CopyData && type !== CopyDone && !SKIPPED.has(type)) {
          close(pos);
          ended = type;
          break;
        }
        this.type = type;
        if (type !== CopyData) close(pos);
        else if (frames && run < 0) run = pos;
        pos += 1;
        this.state = LENGTH;
        this.lengthBytes = 0;
        this.remaining = 0;
        if (pos + 4 <= end) {
          this.remaining = chunk.readUInt32BE(pos);
          pos += 4;
          this.lengthBytes = 4;
        }
      } else if (this.state === LENGTH) {
        // A length split between two reads: byte by byte.
        this.remaining = this.remaining * 256 + (chunk[pos] as number);
        pos += 1;
        this.lengthBytes += 1;
      } else {
        const n = Math.min(end - pos, this.remaining);
        pos += n;
        this.remaining -= n;
        if (this.type === CopyData) this.bytes += n;
      }
      if (this.state === LENGTH && this.lengthBytes === 4) {
        this.remaining -= 4; // the length counts itself
        this.state = BODY;
        if (this.type === CopyData && !frames) run = pos;
      }
      if (this.state === BODY && this.remaining === 0) {
        this.state = TYPE;
        if (!frames) close(pos);
        if (this.type === CopyDone) ended = 'done';
      }
    }
    close(pos);
    if (gathered && filled > 0) data.push(gathered.subarray(0, filled));
    return ended === undefined ? { data } : { data, rest: chunk.subarray(pos), ended };
  }
}
