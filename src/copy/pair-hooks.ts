import type pg from 'pg';
import type { TablePlan } from '../plan/types.js';
import type { Loaded } from './strategies/types.js';
import type { WaitListener } from './lock-waits.js';

/** Steps the run adds around one pair's copy, so that copy-pair itself stays about copying. */
export interface PairHooks {
  /** On the target session, before its transaction begins (timeouts). */
  readonly prepareTarget?: (target: pg.Client, plan: TablePlan) => Promise<void>;
  /**
   * Watches the target session for lock waits while the pair copies; disposed when it ends.
   * `onWait` (a split table's parts) hears of each wait at once, and may have it cancelled.
   */
  readonly watchTarget?: (target: pg.Client, plan: TablePlan, onWait?: WaitListener) => Disposable;
  /** Watches a target session opened through the source (fdw-push), by its application_name. */
  readonly watchRemote?: (applicationName: string, plan: TablePlan) => Disposable;
  /**
   * Inside both transactions, after the rows are loaded and before COMMIT (verification);
   * throwing rolls the table back.
   */
  readonly beforeCommit?: (context: {
    readonly plan: TablePlan;
    readonly source: pg.Client;
    readonly target: pg.Client;
    readonly load: Loaded;
  }) => Promise<void>;
  /**
   * After a failed table's ROLLBACK, on the still-open target session: a clearer error. A
   * statement of several tables (a truncate group's TRUNCATE) passes them all, in its order.
   */
  readonly explainFailure?: (
    error: unknown,
    target: pg.Client | undefined,
    plan: TablePlan | readonly TablePlan[],
  ) => Promise<unknown>;
}
