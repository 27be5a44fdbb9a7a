/**
 * Runs `work` over items with at most `concurrency` slots busy at once, taking them in the given
 * order but never starting one before every item `blockers` names for it has finished. An item
 * takes `slots(item)` slots (a split table: one per part; at most `concurrency`) and waits, with
 * the items behind it, until that many are free. A failure of one item never stops the others
 * (work is expected to report, not throw). Blockers must not form a cycle.
 * `work` learns which slots (0 to concurrency - 1) it holds: its worker, then any others; one
 * slot serves one item at a time.
 */
export async function runPool<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T, worker: number, others: readonly number[]) => Promise<void>,
  blockers: (item: T) => readonly T[] = () => [],
  slots: (item: T) => number = () => 1,
): Promise<void> {
  const pending = [...items];
  const finished = new Set<T>();
  const inPool = new Set(items);
  const size = Math.max(1, concurrency);
  const free = Array.from({ length: size }, (_, i) => i);
  const running = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  const ready = (item: T): boolean =>
    blockers(item).every((b) => finished.has(b) || !inPool.has(b));

  while (pending.length > 0 || running.size > 0) {
    const index = pending.findIndex(ready);
    const item = pending[index];
    const need = item === undefined ? Infinity : Math.min(size, Math.max(1, slots(item)));
    if (item === undefined || need > free.length) {
      // Nothing can start until something finishes (blockers never form a cycle).
      await Promise.race(running);
      continue;
    }
    pending.splice(index, 1);
    const held = free.splice(0, need) as [number, ...number[]];
    const task = work(item, held[0], held.slice(1))
      .catch((error: unknown) => {
        failure ??= { error };
      })
      .finally(() => {
        finished.add(item);
        free.push(...held);
        free.sort((a, b) => a - b);
        running.delete(task);
      });
    running.add(task);
  }
  if (failure) throw failure.error;
}
