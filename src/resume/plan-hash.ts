import { createHash } from 'node:crypto';
import type { Config } from '../config/types.js';
import type { TablePlan } from '../plan/types.js';

function sha256(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 32);
}

/**
 * What decides a pair's copy: the tables on both sides, the rows chosen, the columns and their
 * types, how they are written. Equal hashes mean a new run would copy the same way.
 */
export function pairPlanHash(plan: TablePlan): string {
  return sha256([
    plan.targetName,
    plan.sourceSchema,
    plan.sourceTable,
    plan.targetSchema,
    plan.targetTable,
    plan.mode,
    plan.strategy,
    plan.where ?? null,
    plan.rowSecurity ?? null,
    plan.format,
    plan.conflictKey ?? null,
    plan.pairs.map((p) => [p.name, p.sourceType, p.targetType]),
    plan.disableTriggers ?? null,
    // Only when the config has columns: a plan without them hashes as it always did.
    ...(plan.excluded || plan.renamed ? [plan.excluded ?? [], plan.renamed ?? []] : []),
    // Only for a truncate group's member: replaced together with these tables.
    ...(plan.truncateGroup ? [['truncateGroup', ...plan.truncateGroup]] : []),
  ]);
}

/**
 * Which databases a config copies between (never a password): a report is resumed only by a
 * config with the same source and targets. Tables may be added or changed: their plan hashes say.
 */
export function configIdentity(config: Config): string {
  const where = (e: Config['source']): unknown[] => [
    e.name,
    e.host ?? null,
    e.port ?? null,
    e.database ?? null,
    e.schema,
    e.secret ?? null,
    e.secretId ?? null,
  ];
  return sha256([where(config.source), config.targets.map(where)]);
}
