import { Writable } from 'node:stream';
import { CopyError } from '../../errors.js';

/**
 * Writes one COPY stream into several outputs at once. A chunk is taken from the source only when
 * every output has taken the one before (the slowest target sets the pace; memory stays at each
 * output's buffer). Nothing is written before every expected output is attached or has given up,
 * so none misses the start. An output that closes early (its target failed) is detached and the
 * others go on; when none is left, the tee fails, which stops the read.
 */
export class CopyTee extends Writable {
  private readonly outputs = new Set<Writable>();
  private waiting: number;
  private allPresent: Promise<void>;
  private present: () => void = () => undefined;

  /** @param expected how many outputs attach (or give up) before the first chunk is written */
  constructor(expected: number) {
    super();
    this.waiting = expected;
    this.allPresent = new Promise((resolve) => (this.present = resolve));
    if (expected === 0) this.present();
  }

  /** Adds an output; it ends with the stream, or is destroyed with the stream's error. */
  attach(output: Writable): void {
    if (this.destroyed || this.writableFinished) {
      output.destroy(this.errored ?? new CopyError('', 'the shared read has already ended'));
    } else {
      this.outputs.add(output);
      output.once('close', () => this.outputs.delete(output));
    }
    this.arrived();
  }

  /** An expected output that will never attach (its target failed before the copy began). */
  giveUp(): void {
    this.arrived();
  }

  private arrived(): void {
    this.waiting -= 1;
    if (this.waiting === 0) this.present();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error) => void): void {
    this.allPresent.then(() => this.writeAll(chunk).then(() => done(), done), done);
  }

  private async writeAll(chunk: Buffer): Promise<void> {
    const live = [...this.outputs].filter((o) => !o.destroyed);
    if (live.length === 0) throw new CopyError('', 'every target of the shared read has failed');
    const slow = live.filter((output) => !output.write(chunk));
    await Promise.all(slow.map(drained));
  }

  override _final(done: (error?: Error) => void): void {
    this.allPresent.then(() => {
      for (const output of this.outputs) output.end();
      done();
    }, done);
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    // A failed read fails every target still taking it; a finished one has ended them already.
    if (error) for (const output of this.outputs) output.destroy(error);
    this.present();
    done(error);
  }
}

/** Resolves when the output can take more, or has closed (a detached output holds nothing up). */
function drained(output: Writable): Promise<void> {
  return new Promise((resolve) => {
    const settle = (): void => {
      output.off('drain', settle);
      output.off('close', settle);
      resolve();
    };
    output.on('drain', settle);
    output.on('close', settle);
  });
}
