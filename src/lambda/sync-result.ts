import { logRunEvent, type LogSink } from './log-events.js';
import type { SyncEvent, SyncReport } from '../sync/sync.js';
import type { AppliedCounts } from '../sync/types.js';

/** What a `{ "sync": true }` invocation returns: bounded, whatever the number of changes. */
export interface SyncResult {
  readonly sync: true;
  readonly slot: string;
  readonly slotCreated: boolean;
  /** Pairs copied (the first sync, or tables added to the config). */
  readonly copied: number;
  readonly until: string | null;
  readonly slotPosition: string | null;
  /** Stopped at the deadline before `until`: the next invocation goes on. */
  readonly stopped: boolean;
  readonly targets: readonly {
    readonly target: string;
    readonly applied: AppliedCounts;
    readonly position: string | null;
  }[];
  readonly warnings: readonly string[];
}

export function syncResult(report: SyncReport): SyncResult {
  return {
    sync: true,
    slot: report.slot,
    slotCreated: report.slotCreated,
    copied: report.copies.reduce(
      (sum, c) =>
        sum + c.tables.filter((t) => t.status === 'done' || t.status === 'warnings').length,
      0,
    ),
    until: report.until,
    slotPosition: report.slotPosition,
    stopped: report.stopped,
    targets: report.targets,
    warnings: report.warnings,
  };
}

/** A sync's events as log lines (the copies' as a run's; progress is left out: too many). */
export function logSyncEvent(log: LogSink, event: SyncEvent): void {
  switch (event.type) {
    case 'sync-copy':
      logRunEvent(log, event.event);
      return;
    case 'sync-step':
      log.info(event.message, { event: event.type });
      return;
    case 'sync-warning':
      log.warn(event.message, { event: event.type });
      return;
    case 'sync-progress':
      return;
  }
}
