import { setMaxListeners } from 'node:events';

/**
 * A signal that follows `parent` through exactly one listener on it, removed by dispose. Each
 * copied pair adds its own listeners (pipeline, connects...) to a scope of its own, so the run's
 * signal holds one listener per running pair, however many the pair itself needs.
 */
export class AbortScope implements Disposable {
  private readonly controller = new AbortController();
  readonly signal: AbortSignal = this.controller.signal;
  private readonly follow = (): void => this.controller.abort(this.parent?.reason);

  /** `listeners`: how many scopes may hang on this one at once (bounded: the concurrency). */
  constructor(
    private readonly parent: AbortSignal | undefined,
    listeners = 0,
  ) {
    if (listeners > 0) setMaxListeners(listeners, this.signal);
    if (parent?.aborted) this.follow();
    else parent?.addEventListener('abort', this.follow, { once: true });
  }

  [Symbol.dispose](): void {
    this.parent?.removeEventListener('abort', this.follow);
  }
}
