import type pg from 'pg';

/** Which end of a pair a client talks to. */
export type Side = 'source' | 'target';

/** What a pair was doing at its last step; names a failure's context. */
export class PairStep {
  doing = 'starting';

  at(doing: string): void {
    this.doing = doing;
  }
}

/**
 * Remembers the first sign that a client's connection is gone: a FATAL message from the server
 * (e.g. pg_terminate_backend), a socket error, or the socket closing. Tells which side of a
 * failed pair dropped, whichever stream the failure surfaced in.
 */
export class ConnectionWatch implements Disposable {
  lost: Error | undefined;
  /** When it was lost (performance.now()): when both sides end, the first one dropped. */
  lostAt = Infinity;
  private readonly connection: pg.Connection;

  private lose(error: Error): void {
    if (this.lost) return;
    this.lost = error;
    this.lostAt = performance.now();
  }
  private readonly onMessage = (message: { severity?: string } & Error): void => {
    if (message.severity === 'FATAL' || message.severity === 'PANIC') this.lose(message);
  };
  private readonly onError = (error: Error): void => this.lose(error);
  private readonly onEnd = (): void => this.lose(new Error('the server closed the connection'));

  constructor(client: pg.Client) {
    this.connection = client.connection;
    this.connection.on('errorMessage', this.onMessage);
    this.connection.on('error', this.onError);
    this.connection.on('end', this.onEnd);
  }

  [Symbol.dispose](): void {
    this.connection.off('errorMessage', this.onMessage);
    this.connection.off('error', this.onError);
    this.connection.off('end', this.onEnd);
  }
}
