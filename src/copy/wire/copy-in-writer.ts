import { Writable } from 'node:stream';
import type { Connection } from 'pg';
import { CopyError } from '../../errors.js';
import { COPY_DONE, copyCount, copyDataHeader, copyFail } from './protocol.js';

/** Enough to take a few socket reads of the source while the target's socket drains. */
const HIGH_WATER_MARK = 512 * 1024;
/** Bytes the target's socket may hold unsent before the writer waits for it to drain. */
const SOCKET_LIMIT = 256 * 1024;

/**
 * `COPY … FROM STDIN` as a writable stream (pg's Submittable), in place of pg-copy-streams'
 * `from()`: each chunk goes as one CopyData message, the chunks of one turn of the event loop in
 * one corked write, and the stream waits for the socket to drain past a bound. Ending it sends CopyDone and finishes once the server is ready
 * for the next query (its `COPY n` in rowCount); destroying it before that sends CopyFail, so the
 * server rolls the COPY back, and finishes once the server has said so.
 */
export class CopyInWriter extends Writable {
  /** The target's `COPY n`, once the COPY completed. */
  rowCount = 0;
  private connection: Connection | undefined;
  private copying = false;
  /** What waits for the server's CopyInResponse. */
  private onCopying: (() => void) | undefined;
  /** _final's callback, called at ReadyForQuery. */
  private onReady: ((error?: Error | null) => void) | undefined;
  /** _destroy's callback, called once the server has answered the CopyFail. */
  private onFailed: ((error?: Error | null) => void) | undefined;
  /** The socket is corked until the event loop's next turn: headers and chunks go in one writev. */
  private corked = false;

  constructor(private readonly text: string) {
    super({ highWaterMark: HIGH_WATER_MARK });
  }

  /** pg's Submittable: called when the query's turn comes on the connection. */
  submit(connection: Connection): Error | undefined {
    // Destroyed while queued behind another query: the COPY is never sent.
    if (this.destroyed) return new CopyError('', 'the COPY was stopped before it began');
    this.connection = connection;
    connection.query(this.text);
    return undefined;
  }

  /** pg overwrites this with its query_timeout timer; the handle* calls clear it. */
  callback(): void {}

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error) => void): void {
    this.send([chunk], done);
  }

  override _writev(
    chunks: { chunk: Buffer; encoding: BufferEncoding }[],
    done: (error?: Error) => void,
  ): void {
    this.send(
      chunks.map((c) => c.chunk),
      done,
    );
  }

  private send(chunks: readonly Buffer[], done: (error?: Error) => void): void {
    const socket = this.connection?.stream;
    if (!this.copying || !socket) {
      this.onCopying = () => this.send(chunks, done);
      return;
    }
    if (!this.corked) {
      this.corked = true;
      socket.cork();
      setImmediate(() => {
        this.corked = false;
        socket.uncork();
      });
    }
    for (const chunk of chunks) {
      socket.write(copyDataHeader(chunk.length));
      socket.write(chunk);
    }
    // Past its own small high-water mark the socket has promised a 'drain'.
    if (socket.writableLength < SOCKET_LIMIT) done();
    else socket.once('drain', () => done());
  }

  override _final(done: (error?: Error | null) => void): void {
    const socket = this.connection?.stream;
    if (!this.copying || !socket) {
      this.onCopying = () => this._final(done);
      return;
    }
    this.onReady = done;
    socket.write(COPY_DONE);
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    const socket = this.connection?.stream;
    // Ended (or ending, CopyDone sent), failed, or never sent: nothing to roll back here.
    if (!socket || this.onReady) {
      done(error);
      return;
    }
    this.onFailed = done;
    const fail = (): void => {
      socket.write(copyFail(error?.message ?? 'the COPY was stopped'));
    };
    if (this.copying) fail();
    else this.onCopying = fail;
  }

  handleCopyInResponse(): void {
    this.copying = true;
    const next = this.onCopying;
    this.onCopying = undefined;
    next?.();
  }

  handleCommandComplete(message: { text: string }): void {
    // Statements before the COPY in its query string complete too: only the COPY's counts rows.
    if (this.copying) this.rowCount = copyCount(message);
  }

  // A statement before the COPY in its query string may return rows: none is kept.
  handleRowDescription(): void {}
  handleDataRow(): void {}

  handleReadyForQuery(): void {
    this.callback();
    this.connection = undefined;
    this.onReady?.();
  }

  handleError(error: Error): void {
    this.callback();
    this.connection = undefined;
    const failed = this.onFailed ?? this.onReady;
    this.onFailed = undefined;
    this.onReady = undefined;
    if (failed) failed(error);
    else this.destroy(error);
  }
}
