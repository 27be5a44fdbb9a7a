import type pg from 'pg';
import type { Connector } from '../db/connector.js';
import { endClient } from '../db/end-client.js';
import { lockWait, type LockWait } from '../db/lock-holders.js';
import type { TablePlan } from '../plan/types.js';
import type { EventListener } from '../report/events.js';
import { refOf } from './copy-pair.js';

/** Hears of a watched session's wait on every look; true: cancel the session's statement. */
export type WaitListener = (wait: LockWait) => boolean;

const NO_WAIT: LockWait = { awaited: undefined, holders: [] };

/** The backend of the monitor's database that calls itself `applicationName`, once it is there. */
async function backendOf(monitor: pg.Client, applicationName: string): Promise<number | undefined> {
  const { rows } = await monitor.query<{ pid: number }>(
    `SELECT pid FROM pg_catalog.pg_stat_activity
      WHERE application_name = $1 AND datname = pg_catalog.current_database() LIMIT 1`,
    [applicationName],
  );
  return rows[0]?.pid;
}

async function cancelBackend(monitor: pg.Client, pid: number): Promise<void> {
  await monitor.query('SELECT pg_catalog.pg_cancel_backend($1)', [pid]);
}

/** How long a session must wait on a lock before progress says so, and how often it looks. */
export interface LockWaitTiming {
  readonly reportAfterMs: number;
  readonly pollMs: number;
}

export const DEFAULT_LOCK_WAIT_TIMING: LockWaitTiming = { reportAfterMs: 3_000, pollMs: 1_000 };

/**
 * Watches the target sessions of a run for lock waits: while one waits longer than
 * `reportAfterMs`, a `table-waiting` event names the sessions blocking it (pg_blocking_pids), and
 * the prepared transactions among them by name.
 * One monitor connection per target, opened on first use: with the pairs' own, at most
 * concurrency + 1 connections per target server.
 */
export class LockWaits {
  private readonly monitors = new Map<string, Promise<pg.Client | undefined>>();
  private readonly turns = new Map<string, Promise<void>>();
  private closed = false;

  constructor(
    private readonly connectorOf: (target: string) => Connector,
    private readonly emit: EventListener,
    private readonly now: () => Date,
    private readonly timing: LockWaitTiming = DEFAULT_LOCK_WAIT_TIMING,
  ) {}

  /**
   * Starts watching a pair's target session, until the returned handle is disposed (the pair's
   * copy ended) or the session ends. A worker's session outlives its tables: a watch left running
   * would report the worker's next tables as this one's, and its looks would add up table by table.
   * `onWait` hears of every look that finds the session waiting, at once; when it answers true,
   * the session's statement is cancelled (a wait that can never end on its own).
   */
  watch(session: pg.Client, plan: TablePlan, onWait?: WaitListener): Disposable {
    const pid = (session as unknown as { processID: number | null }).processID;
    if (pid === null) return { [Symbol.dispose]: () => undefined };
    const watch = this.watchBackend(plan, () => Promise.resolve(pid), onWait);
    const stop = (): void => {
      watch[Symbol.dispose]();
      session.off('end', stop);
    };
    session.once('end', stop);
    return { [Symbol.dispose]: stop };
  }

  /**
   * Starts watching a target session pgcopy did not open itself, found by its application_name
   * (fdw-push writes through postgres_fdw's connection from the source), until disposed.
   */
  watchApplication(applicationName: string, plan: TablePlan): Disposable {
    let pid: number | undefined;
    return this.watchBackend(plan, async (monitor) => {
      pid ??= await backendOf(monitor, applicationName);
      return pid;
    });
  }

  /** Looks every pollMs at what backend `pidOf` (once it has one) waits for, until disposed. */
  private watchBackend(
    plan: TablePlan,
    pidOf: (monitor: pg.Client) => Promise<number | undefined>,
    onWait?: WaitListener,
  ): Disposable {
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    const stop = (): void => {
      stopped = true;
      clearTimeout(timer);
    };
    const watching = (): boolean => !stopped && !this.closed;
    let waitingSince: number | undefined;
    let lastReport = -Infinity;
    let pid: number | undefined;
    const tick = async (): Promise<void> => {
      if (!watching()) return;
      const wait = await this.blockers(plan.targetName, async (monitor) => {
        pid = await pidOf(monitor);
        return pid;
      });
      const holders = wait.holders;
      // The copy may have ended during the look: what it saw belongs to the worker's next table.
      if (!watching()) return;
      const at = this.now().getTime();
      if (holders.length > 0 && pid !== undefined && onWait?.(wait)) {
        const cancelled = pid;
        // Not once the copy has ended: the backend's pid is no longer this session's to cancel.
        const cancel = async (monitor: pg.Client): Promise<void> => {
          if (watching()) await cancelBackend(monitor, cancelled);
        };
        await this.inTurn(plan.targetName, cancel, undefined);
      }
      if (holders.length === 0) {
        waitingSince = undefined;
        lastReport = -Infinity;
      } else {
        waitingSince ??= at;
        // Said once the wait is long enough, then again every reportAfterMs while it lasts.
        if (
          at - waitingSince >= this.timing.reportAfterMs &&
          at - lastReport >= this.timing.reportAfterMs
        ) {
          lastReport = at;
          this.emit({
            type: 'table-waiting',
            at: new Date(at).toISOString(),
            ref: refOf(plan),
            seconds: Math.round((at - waitingSince) / 1000),
            holders,
          });
        }
      }
      schedule();
    };
    const schedule = (): void => {
      if (!watching()) return;
      timer = setTimeout(() => void tick(), this.timing.pollMs).unref();
    };
    schedule();
    return { [Symbol.dispose]: stop };
  }

  /**
   * The pairs of a target share its monitor, and their looks come due together: they take turns,
   * one statement at a time on the monitor's connection, never queued behind each other in pg.
   */
  private inTurn<T>(target: string, job: (monitor: pg.Client) => Promise<T>, none: T): Promise<T> {
    const turn = (this.turns.get(target) ?? Promise.resolve()).then(async () => {
      const monitor = await this.monitor(target);
      if (!monitor || this.closed) return none;
      try {
        return await job(monitor);
      } catch {
        return none; // best effort: the monitor's own trouble never fails a table
      }
    });
    this.turns.set(
      target,
      turn.then(() => undefined),
    );
    return turn;
  }

  private blockers(
    target: string,
    pidOf: (monitor: pg.Client) => Promise<number | undefined>,
  ): Promise<LockWait> {
    const look = async (monitor: pg.Client): Promise<LockWait> => {
      const pid = await pidOf(monitor);
      return pid === undefined ? NO_WAIT : lockWait(monitor, pid);
    };
    return this.inTurn(target, look, NO_WAIT);
  }

  private monitor(target: string): Promise<pg.Client | undefined> {
    let monitor = this.monitors.get(target);
    if (!monitor) {
      monitor = this.connectorOf(target)
        .connect()
        .catch(() => undefined);
      this.monitors.set(target, monitor);
    }
    return monitor;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(
      [...this.monitors.values()].map(async (m) => {
        const client = await m;
        if (client) await endClient(client);
      }),
    );
  }
}
