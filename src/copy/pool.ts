/**
 * Runs `work` over items with at most `concurrency` at once, taking them in the given order but
 * never starting one before every item `blockers` names for it has finished. A failure of one item
 * never stops the others (work is expected to report, not throw). Blockers must not form a cycle.
 * `work` learns which worker (0 to concurrency - 1) runs the item: one worker runs one at a time.
 */
export async function runPool<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T, worker: number) => Promise<void>,
  blockers: (item: T) => readonly T[] = () => [],
): Promise<void> {
  const pending = [...items];
  const finished = new Set<T>();
  const inPool = new Set(items);
  let wake: () => void = () => undefined;
  let somethingFinished = new Promise<void>((resolve) => (wake = resolve));
  const ready = (item: T): boolean =>
    blockers(item).every((b) => finished.has(b) || !inPool.has(b));

  const worker = async (_: unknown, id: number): Promise<void> => {
    while (pending.length > 0) {
      const index = pending.findIndex(ready);
      if (index === -1) {
        await somethingFinished;
        continue;
      }
      const [item] = pending.splice(index, 1) as [T];
      try {
        await work(item, id);
      } finally {
        finished.add(item);
        const notify = wake;
        somethingFinished = new Promise<void>((resolve) => (wake = resolve));
        notify();
      }
    }
  };
  const workers = Math.max(1, Math.min(concurrency, items.length));
  await Promise.all(Array.from({ length: workers }, worker));
}
