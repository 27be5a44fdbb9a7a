import type { TableRef } from '../db/catalog.js';
import type { TablePlan } from './types.js';

/** Tables of one target replaced together: one TRUNCATE, one transaction, foreign-key order. */
export interface TruncateGroupPlan {
  /** The member tables, in the order they load (a table after those its foreign keys reference). */
  readonly tables: readonly string[];
  /**
   * A foreign-key cycle among them loads with its (DEFERRABLE) keys checked at the group's COMMIT:
   * SET CONSTRAINTS ALL DEFERRED in its transaction.
   */
  readonly deferred?: true;
}

const listed = (names: readonly string[]): string => names.map((n) => `"${n}"`).join(', ');

/** Why a table referenced by `ref` cannot be truncated; undefined when `ref` can be truncated with it. */
type Referrer = (ref: TableRef) => string | undefined;

const IN_A_GROUP = 'in a truncate group, whose tables load one after another in one transaction';

/**
 * PostgreSQL refuses to TRUNCATE a table another table's foreign key references, unless that
 * table is truncated in the same statement. So when every table referencing a truncate-mode table
 * is planned too, in truncate mode, on the same target, the run replaces them together: the
 * connected tables (a group) are truncated in one statement and loaded in one transaction, in
 * foreign-key order, so that either all of them are replaced or none. A table referenced from
 * outside the selection (or by a table in another mode, or one the plan refuses) stays refused,
 * naming that table, and so do the tables it references in turn, which would need it truncated too.
 * Tables whose foreign keys form a cycle load only with those keys DEFERRABLE (checked at the
 * group's COMMIT) or their checks off (disableTriggers on each of them); otherwise they are refused. A group member is not split, keeps its indexes
 * and does not share a read with other targets (its load runs in the group's transaction).
 */
export function withTruncateGroups(
  tables: readonly TablePlan[],
  referencedByOf: (table: TablePlan) => readonly TableRef[],
): { tables: TablePlan[]; groups: TruncateGroupPlan[] } {
  const byName = new Map(tables.map((t) => [t.targetTable, t]));
  const refused = new Map<string, string>();
  const truncating = (t: TablePlan): boolean =>
    t.mode === 'truncate' && !refused.has(t.targetTable);
  // Grows to a fixed point: a refused table refuses the tables its foreign keys reference.
  for (let changed = true; changed;) {
    changed = false;
    for (const t of tables) {
      if (!truncating(t) || t.errors.length > 0) continue;
      const why = blocker(referencedByOf(t), (ref) => referrerProblem(t, ref, byName, refused));
      if (why === undefined) continue;
      refused.set(t.targetTable, why);
      changed = true;
    }
    for (const group of components(
      tables,
      referencedByOf,
      (t) => truncating(t) && t.errors.length === 0,
    )) {
      const stuck = unloadableCycle(group, referencedByOf);
      if (stuck === undefined) continue;
      for (const t of group) {
        refused.set(
          t.targetTable,
          `truncate: foreign keys between ${listed(stuck)} form a cycle, so their group ${listed(group.map((m) => m.targetTable))} can only load in one transaction with those checks deferred or off: make those foreign keys DEFERRABLE, or set disableTriggers on each of those tables, or use append or upsert`,
        );
      }
      changed = true;
    }
  }
  const groups = components(tables, referencedByOf, (t) => truncating(t) && t.errors.length === 0)
    .filter((g) => g.length > 1)
    .map((g) => loadOrder(g, referencedByOf));
  const plans: TruncateGroupPlan[] = groups.map((g) => ({
    tables: g.tables.map((t) => t.targetTable),
    ...(g.deferred ? { deferred: true as const } : {}),
  }));
  const groupOf = new Map(plans.flatMap((g) => g.tables.map((name) => [name, g] as const)));
  return {
    tables: tables.map((t) => {
      const why = refused.get(t.targetTable);
      if (why !== undefined) return { ...t, errors: [...t.errors, why] };
      const group = groupOf.get(t.targetTable);
      return group ? asMember(t, group, mixedTriggers(group, byName)) : t;
    }),
    groups: plans,
  };
}

function blocker(referrers: readonly TableRef[], problem: Referrer): string | undefined {
  for (const ref of referrers) {
    const why = problem(ref);
    if (why !== undefined) {
      return `truncate: "${ref.schema}"."${ref.table}" references this table by foreign key ${why}`;
    }
  }
  return undefined;
}

const REFUSES = 'so PostgreSQL refuses to TRUNCATE this table';

/** Why the referencing table `ref` keeps `t` from being truncated, if it does. */
function referrerProblem(
  t: TablePlan,
  ref: TableRef,
  byName: ReadonlyMap<string, TablePlan>,
  refused: ReadonlyMap<string, string>,
): string | undefined {
  const other = ref.schema === t.targetSchema ? byName.get(ref.table) : undefined;
  if (!other) {
    return `and is not among this target's tables, ${REFUSES} (add it in truncate mode to replace both together, or use append or upsert)`;
  }
  if (other.mode !== 'truncate') {
    return `and is copied in ${other.mode} mode, ${REFUSES} (copy both in truncate mode to replace them together, or use append or upsert)`;
  }
  if (other.errors.length > 0 || refused.has(other.targetTable)) {
    return `and is not copied (the plan refuses it), ${REFUSES} (use append or upsert)`;
  }
  if (other.strategy === 'fdw-push' || t.strategy === 'fdw-push') {
    return `and the two would load together in one target transaction, which fdw-push (committing through the source's session) cannot join (use another strategy, or append or upsert)`;
  }
  return undefined;
}

/** The connected components of the foreign keys among the tables `member` admits. */
function components(
  tables: readonly TablePlan[],
  referencedByOf: (table: TablePlan) => readonly TableRef[],
  member: (t: TablePlan) => boolean,
): TablePlan[][] {
  const admitted = tables.filter(member);
  const byName = new Map(admitted.map((t) => [t.targetTable, t]));
  const linked = new Map<string, Set<string>>(admitted.map((t) => [t.targetTable, new Set()]));
  for (const t of admitted) {
    for (const ref of referencedByOf(t)) {
      if (ref.schema !== t.targetSchema || !byName.has(ref.table)) continue;
      linked.get(t.targetTable)?.add(ref.table);
      linked.get(ref.table)?.add(t.targetTable);
    }
  }
  const seen = new Set<string>();
  const found: TablePlan[][] = [];
  for (const t of admitted) {
    if (seen.has(t.targetTable)) continue;
    const group: TablePlan[] = [];
    const stack = [t.targetTable];
    seen.add(t.targetTable);
    while (stack.length > 0) {
      const name = stack.pop() as string;
      group.push(byName.get(name) as TablePlan);
      for (const next of linked.get(name) ?? []) {
        if (!seen.has(next)) {
          seen.add(next);
          stack.push(next);
        }
      }
    }
    found.push(tables.filter((p) => group.includes(p)));
  }
  return found;
}

/** A member's parents within its group (the members its foreign keys reference), and whether each link is deferrable. */
function parentLinks(
  group: readonly TablePlan[],
  referencedByOf: (table: TablePlan) => readonly TableRef[],
): Map<string, Map<string, boolean>> {
  const names = new Set(group.map((t) => t.targetTable));
  const parents = new Map(group.map((t) => [t.targetTable, new Map<string, boolean>()]));
  for (const t of group) {
    for (const ref of referencedByOf(t)) {
      if (ref.schema === t.targetSchema && names.has(ref.table)) {
        parents.get(ref.table)?.set(t.targetTable, ref.deferrable === true);
      }
    }
  }
  return parents;
}

/**
 * The group's strongly connected components, parents before children (Tarjan's algorithm emits
 * a component after every component it reaches, and the links go from child to parent); each
 * component's tables in plan order. A component of several tables is a foreign-key cycle.
 */
function strongComponents(
  group: readonly TablePlan[],
  parents: ReadonlyMap<string, ReadonlyMap<string, boolean>>,
): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const order = new Map(group.map((t, i) => [t.targetTable, i]));
  const visit = (name: string): void => {
    index.set(name, index.size);
    low.set(name, index.get(name) as number);
    stack.push(name);
    onStack.add(name);
    for (const parent of parents.get(name)?.keys() ?? []) {
      if (!index.has(parent)) {
        visit(parent);
        low.set(name, Math.min(low.get(name) as number, low.get(parent) as number));
      } else if (onStack.has(parent)) {
        low.set(name, Math.min(low.get(name) as number, index.get(parent) as number));
      }
    }
    if (low.get(name) !== index.get(name)) return;
    const component: string[] = [];
    for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
      onStack.delete(top);
      component.push(top);
      if (top === name) break;
    }
    found.push(component.sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0)));
  };
  for (const t of group) if (!index.has(t.targetTable)) visit(t.targetTable);
  return found;
}

/**
 * A cycle of the group that one transaction cannot load: checked at once, each of its tables
 * would need another loaded first. Loadable when its tables load with checks off (disableTriggers
 * on each) or when every foreign key within it is DEFERRABLE (checked at the group's COMMIT).
 */
function unloadableCycle(
  group: readonly TablePlan[],
  referencedByOf: (table: TablePlan) => readonly TableRef[],
): string[] | undefined {
  const parents = parentLinks(group, referencedByOf);
  const byName = new Map(group.map((t) => [t.targetTable, t]));
  return strongComponents(group, parents).find(
    (cycle) =>
      cycle.length > 1 &&
      !cycle.every((name) => byName.get(name)?.disableTriggers) &&
      !deferrableWithin(cycle, parents),
  );
}

function deferrableWithin(
  cycle: readonly string[],
  parents: ReadonlyMap<string, ReadonlyMap<string, boolean>>,
): boolean {
  return cycle.every((name) =>
    [...(parents.get(name) ?? [])].every(
      ([parent, deferrable]) => deferrable || !cycle.includes(parent),
    ),
  );
}

/** Parents before children; the tables of a cycle together, in plan order. */
function loadOrder(
  group: readonly TablePlan[],
  referencedByOf: (table: TablePlan) => readonly TableRef[],
): { tables: TablePlan[]; deferred: boolean } {
  const parents = parentLinks(group, referencedByOf);
  const byName = new Map(group.map((t) => [t.targetTable, t]));
  const cycles = strongComponents(group, parents);
  const deferred = cycles.some(
    (c) => c.length > 1 && !c.every((name) => byName.get(name)?.disableTriggers),
  );
  return { tables: cycles.flat().map((name) => byName.get(name) as TablePlan), deferred };
}

/** A group member: says so, and keeps its indexes (its load runs in the group's transaction). */
/** Some members load with disableTriggers and some without: the one TRUNCATE fires triggers. */
function mixedTriggers(plan: TruncateGroupPlan, byName: ReadonlyMap<string, TablePlan>): boolean {
  const off = plan.tables.filter((name) => byName.get(name)?.disableTriggers);
  return off.length > 0 && off.length < plan.tables.length;
}

function asMember(t: TablePlan, plan: TruncateGroupPlan, mixed: boolean): TablePlan {
  const group = plan.tables;
  const others = group.filter((name) => name !== t.targetTable);
  const rebuilt = t.rebuildIndexes !== undefined && t.rebuildIndexes.indexes.length > 0;
  const kept = `indexes kept during the load: ${IN_A_GROUP}`;
  return {
    ...t,
    truncateGroup: group,
    ...(plan.deferred ? { deferredChecks: true as const } : {}),
    // A cycle within the group loads in its one transaction: no ordering needed, nothing left over.
    warnings: [
      ...t.warnings.filter((w) => !w.startsWith('foreign keys form a cycle through')),
      ...(mixed && t.disableTriggers
        ? [
            'disableTriggers: other tables of its truncate group load with triggers on, so the one TRUNCATE of the group runs with them on and fires its ON TRUNCATE triggers',
          ]
        : []),
    ],
    ...(rebuilt ? { rebuildIndexes: { indexes: [], reason: kept } } : {}),
    notes: [
      ...(t.notes ?? []).filter((n) => !(rebuilt && n.includes('dropped for the load'))),
      ...(rebuilt ? [kept] : []),
      `truncate group ${listed(group)}: truncated in one statement with ${listed(others)} (foreign keys) and loaded with them in one transaction, in this order, so that all of them are replaced or none${
        plan.deferred
          ? '; its foreign-key cycle is checked at COMMIT (SET CONSTRAINTS ALL DEFERRED)'
          : ''
      }`,
    ],
  };
}
