import type { TablePlan, TargetPlan } from './types.js';

/**
 * A target's plan and the database it reached, as the catalog identifies it whatever address or
 * name the config gave (SchemaCatalog.databaseIdentity); absent when the target was not read.
 */
export interface PlacedTarget {
  readonly plan: TargetPlan;
  readonly database: string | undefined;
}

/**
 * Refuses every pair whose target table another pair of the run writes too: two targets that
 * reach one database (under other names, by other addresses) and name the same schema and table,
 * or one target taking a table twice. Two copies into one table wait on each other's locks (a
 * second TRUNCATE waits on the first, which a shared read holds open until both are in) or write
 * the rows twice, in whatever mode; the plan names the other target for each.
 */
export function refuseSharedTargetTables(targets: readonly PlacedTarget[]): TargetPlan[] {
  const writers = new Map<string, { target: string; table: TablePlan }[]>();
  const keyOf = (database: string, t: TablePlan): string =>
    JSON.stringify([database, t.targetSchema, t.targetTable]);
  for (const { plan, database } of targets) {
    if (database === undefined) continue;
    for (const table of plan.tables) {
      const key = keyOf(database, table);
      writers.set(key, [...(writers.get(key) ?? []), { target: plan.name, table }]);
    }
  }
  return targets.map(({ plan, database }) => {
    if (database === undefined) return plan;
    return {
      ...plan,
      tables: plan.tables.map((table) => {
        const others = (writers.get(keyOf(database, table)) ?? []).filter((w) => w.table !== table);
        if (others.length === 0) return table;
        const error = (other: { target: string; table: TablePlan }): string =>
          `target "${other.target}" writes this same table too ("${table.targetSchema}"."${table.targetTable}" in the same database, from source table "${other.table.sourceTable}"): one table cannot be copied into twice in one run (list it in one target only)`;
        return { ...table, errors: [...table.errors, ...others.map(error)] };
      }),
    };
  });
}
