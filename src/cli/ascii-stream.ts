import { Writable } from 'node:stream';
import { asciiMarkers } from '../report/ascii-markers.js';

type Terminal = Writable & { isTTY?: boolean; columns?: number };

/**
 * A stream writing to `target` with every marker in ASCII (`--ascii`, or a locale that is not
 * UTF-8). Each write passes through at once, so the order with other writers is kept.
 */
export class AsciiStream extends Writable {
  /**
   * The terminal's width as it is now (it changes when the window is resized), less the two
   * columns a line cut to fit gains when its `…` becomes `...`.
   */
  declare readonly columns?: number;

  constructor(private readonly target: Terminal) {
    super({ decodeStrings: false });
    if (target.columns !== undefined) {
      const width = (): number | undefined =>
        target.columns === undefined ? undefined : Math.max(target.columns - 2, 1);
      Object.defineProperty(this, 'columns', { get: width, enumerable: true });
    }
  }

  get isTTY(): boolean {
    return this.target.isTTY === true;
  }

  override _write(
    chunk: string | Buffer,
    _encoding: BufferEncoding,
    callback: (error?: Error | null) => void,
  ): void {
    const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    this.target.write(asciiMarkers(text));
    callback();
  }
}
