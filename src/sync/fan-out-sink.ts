import type { Change, ChangeSink, TransactionBegin, TransactionCommit } from './types.js';

/**
 * One slot read, many targets: each message goes to every target's sink in turn, each awaited
 * (the slowest target sets the pace; memory stays bounded). `onCommit` sees each source
 * transaction once all targets have it.
 */
export class FanOutSink implements ChangeSink {
  constructor(
    private readonly sinks: readonly ChangeSink[],
    private readonly onCommit: (commit: TransactionCommit) => void = () => undefined,
  ) {}

  async begin(transaction: TransactionBegin): Promise<void> {
    for (const sink of this.sinks) await sink.begin(transaction);
  }

  async change(change: Change): Promise<void> {
    for (const sink of this.sinks) await sink.change(change);
  }

  async commit(transaction: TransactionCommit): Promise<void> {
    for (const sink of this.sinks) await sink.commit(transaction);
    this.onCommit(transaction);
  }
}
