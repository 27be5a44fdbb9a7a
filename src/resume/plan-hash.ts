import { createHash } from 'node:crypto';
import type { Config } from '../config/types.js';
import type { ConnectionSpec } from '../db/connection-spec.js';
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
    // Only with data rules: a rule that changed writes other values (the key is not in the SQL).
    ...(plan.masks ? [plan.masks.map((m) => [m.column, m.sql])] : []),
    // Only for a load group's member: loaded together with these tables (a truncate group's
    // hashes as it always did).
    ...(plan.loadGroup
      ? [[plan.mode === 'truncate' ? 'truncateGroup' : 'loadGroup', ...plan.loadGroup]]
      : []),
  ]);
}

/**
 * Which databases a run copies between (never a password), as its endpoints resolved: host, port
 * and database after `service:`, PG* variables, URLs and secrets have had their say, so that two
 * configs that read the same words but reach different servers never match. A report is resumed
 * only by a run with the same identity; tables may be added or changed (their plan hashes say).
 */
export function endpointsIdentity(
  config: Config,
  specs: { readonly source: ConnectionSpec; readonly targets: ReadonlyMap<string, ConnectionSpec> },
): string {
  const where = (spec: ConnectionSpec | undefined, schema: string, name: string): unknown[] =>
    spec === undefined || spec.unavailable
      ? [name, 'unresolved', schema]
      : [name, spec.host, spec.port, spec.database, schema];
  return sha256([
    where(specs.source, config.source.schema, 'source'),
    config.targets.map((t) => where(specs.targets.get(t.name), t.schema, t.name)),
  ]);
}
