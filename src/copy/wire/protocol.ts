/*
 * What the COPY streams rely on in pg (pinned by test/integration/copy-wire.test.ts):
 * `connection.stream` is the socket, read by exactly one 'data' listener (pg-protocol's parser);
 * `connection.query(text)` sends a simple Query; the client calls the active query's `handle*`
 * methods for the messages its parser sees, and replaces its `callback` for query_timeout.
 */

/** Message type bytes of the protocol's COPY sub-protocol (PostgreSQL's protocol-message-formats). */
export const CopyData = 0x64; // 'd'
export const CopyDone = 0x63; // 'c'
export const ErrorResponse = 0x45; // 'E'

/** A CopyData message's header: its type byte and an int32 length that counts itself. */
export const HEADER_BYTES = 5;

export function copyDataHeader(payloadBytes: number): Buffer {
  const header = Buffer.allocUnsafe(HEADER_BYTES);
  header[0] = CopyData;
  header.writeUInt32BE(payloadBytes + 4, 1);
  return header;
}

export const COPY_DONE = Buffer.from([CopyDone, 0, 0, 0, 4]);

/** CopyFail: the COPY FROM ends with an error and the server rolls it back. */
export function copyFail(message: string): Buffer {
  const text = Buffer.from(`${message}\0`, 'utf8');
  const frame = Buffer.allocUnsafe(5 + text.length);
  frame[0] = 0x66; // 'f'
  frame.writeUInt32BE(4 + text.length, 1);
  text.copy(frame, 5);
  return frame;
}

/** The row count of a CommandComplete tag: `COPY n`. */
export function copyCount(message: { text: string }): number {
  return Number(message.text.split(' ').at(-1));
}
