import type pg from 'pg';
import type { SnapshotLossPolicy } from '../config/types.js';
import { describeError } from '../errors.js';
import type { EventListener, TableError } from '../report/events.js';
import { SnapshotCoordinator } from './snapshot.js';

/**
 * The run's source snapshot, and what happens when its coordinator connection is lost: `fail`
 * fails every pair that has not started yet; `reexport` opens a new snapshot once (however many
 * workers notice) and the run then spans several snapshots, which the report lists.
 */
export class SnapshotHolder {
  readonly ids: string[] = [];
  private latest: SnapshotCoordinator;
  private replacing: Promise<SnapshotCoordinator | TableError> | undefined;
  private lostError: TableError | undefined;
  private readonly retired: SnapshotCoordinator[] = [];

  constructor(
    first: SnapshotCoordinator,
    private readonly policy: SnapshotLossPolicy,
    private readonly connect: () => Promise<pg.Client>,
    private readonly emit: EventListener,
    private readonly now: () => Date,
  ) {
    this.latest = first;
    this.ids.push(first.snapshotId);
  }

  get first(): string {
    return this.ids[0] ?? '';
  }

  /** Whether `snapshot` is gone (a pair that failed in it may try again in a newer one). */
  isLost(snapshot: SnapshotCoordinator): boolean {
    return snapshot.lost !== undefined || snapshot !== this.latest;
  }

  /** The snapshot to copy from now, or the error every remaining pair ends with. */
  async current(): Promise<SnapshotCoordinator | TableError> {
    if (this.lostError) return this.lostError;
    const latest = this.latest;
    if (!latest.lost) return latest;
    this.replacing ??= this.replace(latest);
    return this.replacing;
  }

  private async replace(lost: SnapshotCoordinator): Promise<SnapshotCoordinator | TableError> {
    const why = `the source snapshot ${lost.snapshotId} was lost (its coordinator connection ended: ${describeError(lost.lost)})`;
    this.retired.push(lost);
    if (this.policy === 'fail') {
      this.emit({
        type: 'snapshot-lost',
        at: this.now().toISOString(),
        snapshot: lost.snapshotId,
        replacement: null,
      });
      this.lostError = {
        code: 'SNAPSHOT_LOST',
        message: `${why}; options.onSnapshotLoss is fail: this table was not copied`,
      };
      return this.lostError;
    }
    try {
      const next = await SnapshotCoordinator.open(await this.connect());
      this.latest = next;
      this.ids.push(next.snapshotId);
      this.replacing = undefined;
      this.emit({
        type: 'snapshot-lost',
        at: this.now().toISOString(),
        snapshot: lost.snapshotId,
        replacement: next.snapshotId,
      });
      return next;
    } catch (error) {
      this.lostError = {
        code: 'SNAPSHOT_LOST',
        message: `${why}; re-exporting it failed: ${describeError(error)}`,
      };
      return this.lostError;
    }
  }

  async close(): Promise<void> {
    await Promise.all(
      [...new Set([...this.retired, this.latest])].map((s) => s.close().catch(() => undefined)),
    );
  }
}
