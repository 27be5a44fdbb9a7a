import { Readable, type Duplex } from 'node:stream';
import type { Connection } from 'pg';
import { CopyError } from '../../errors.js';
import { CopyOutParser } from './copy-out-parser.js';
import { copyCount, ErrorResponse } from './protocol.js';

type DataListener = (chunk: Buffer) => void;

export interface CopyOutOptions {
  /** Called after each socket read with the payload bytes read so far. */
  readonly onBytes?: ((bytes: number) => void) | undefined;
}

/** Large enough that a socket read (up to 64 KiB) rarely has to pause the socket. */
const HIGH_WATER_MARK = 512 * 1024;

/**
 * `COPY … TO STDOUT` as a readable stream (pg's Submittable), in place of pg-copy-streams' `to()`,
 * which makes a buffer per row. It takes the connection's socket from pg's parser for the COPY and
 * gives it back with the bytes after CopyDone (or from an ErrorResponse on), so pg sees the end of
 * the query. The socket is paused while the stream's buffer is full: backpressure reaches the
 * source server.
 */
export class CopyOutReader extends Readable {
  /** The source's `COPY n`, once the query completed. */
  rowCount = 0;
  private socket: Duplex | undefined;
  private pgListener: DataListener | undefined;
  private readonly onData: DataListener = (chunk) => this.forward(chunk);
  private readonly parser: CopyOutParser;

  constructor(
    private readonly text: string,
    private readonly options: CopyOutOptions = {},
  ) {
    super({ highWaterMark: HIGH_WATER_MARK });
    this.parser = new CopyOutParser();
  }

  /** Payload bytes read so far: the COPY data itself, without the protocol's framing. */
  get bytes(): number {
    return this.parser.bytes;
  }

  /** pg's Submittable: called when the query's turn comes on the connection. */
  submit(connection: Connection): Error | undefined {
    // Destroyed while queued behind another query: the COPY is never sent.
    if (this.destroyed) return new CopyError('', 'the COPY was stopped before it began');
    const socket = connection.stream;
    const listeners = socket.listeners('data');
    if (listeners.length !== 1) {
      // pg's parser is the socket's one reader; anything else is a pg this code does not know.
      return new CopyError('', `unexpected pg connection: ${listeners.length} socket readers`);
    }
    this.pgListener = listeners[0] as DataListener;
    socket.removeListener('data', this.pgListener);
    socket.on('data', this.onData);
    this.socket = socket;
    connection.query(this.text);
    return undefined;
  }

  /** pg overwrites this with its query_timeout timer; the handle* calls clear it. */
  callback(): void {}

  override _read(): void {
    this.socket?.resume();
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    // Stop reading: the connection is in the middle of a COPY and is closed by its owner.
    this.socket?.pause();
    done(error);
  }

  private forward(chunk: Buffer): void {
    const read = this.parser.parse(chunk);
    const more = read.data.length === 0 || this.push(read.data);
    this.options.onBytes?.(this.parser.bytes);
    if (read.rest) {
      this.giveBack(read.rest);
      if (read.ended === 'done') this.push(null);
      // An ErrorResponse reaches handleError through pg; a query that was no COPY has no rows.
      else if (read.ended !== ErrorResponse) this.destroy(new CopyError('', 'not a COPY TO query'));
    } else if (!more) {
      this.socket?.pause();
    }
  }

  /** The socket goes back to pg's parser with what follows the COPY data. */
  private giveBack(rest: Buffer): void {
    const socket = this.socket as Duplex;
    const pgListener = this.pgListener as DataListener;
    this.socket = undefined;
    socket.removeListener('data', this.onData);
    socket.on('data', pgListener);
    socket.resume();
    pgListener(rest);
  }

  handleCommandComplete(message: { text: string }): void {
    this.rowCount = copyCount(message);
  }

  handleReadyForQuery(): void {
    this.callback();
  }

  // A query that was no COPY TO (failed above) goes on through pg: its rows are not kept.
  handleRowDescription(): void {}
  handleDataRow(): void {}

  handleError(error: Error): void {
    this.callback();
    this.destroy(error);
  }
}
