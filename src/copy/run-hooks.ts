import type { Config } from '../config/types.js';
import type { LockWaits } from './lock-waits.js';
import type { PairHooks } from './pair-hooks.js';
import { timeoutsOf } from '../config/timeouts.js';
import { explainLockTimeout, timeoutSql } from './target-timeouts.js';

/**
 * The hooks a run gives every pair: the target's timeouts, their errors explained, the lock-wait
 * monitor, verification.
 */
export function runHooks(
  config: Config,
  lockWaits: LockWaits,
  beforeCommit?: PairHooks['beforeCommit'],
): PairHooks {
  return {
    prepareTarget: async (target, plan) => {
      const sql = timeoutSql(timeoutsOf(config, plan.targetName));
      if (sql) await target.query(sql);
    },
    watchTarget: (target, plan, onWait) => lockWaits.watch(target, plan, onWait),
    watchRemote: (applicationName, plan) => lockWaits.watchApplication(applicationName, plan),
    explainFailure: (error, target, plans) => {
      const [first] = 'targetTable' in plans ? [plans] : plans;
      if (!first) return Promise.resolve(error);
      return explainLockTimeout(error, target, plans, timeoutsOf(config, first.targetName));
    },
    ...(beforeCommit ? { beforeCommit } : {}),
  };
}
