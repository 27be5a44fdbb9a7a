import type { TableRef } from '../db/catalog.js';
import { quotedNames } from './name-list.js';
import { strongComponents as stronglyConnected } from './strong-components.js';
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

const listed = (names: readonly string[]): string => quotedNames(names);

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

/** The group's foreign-key cycles and single tables, parents before children. */
function strongComponents(
  group: readonly TablePlan[],
  parents: ReadonlyMap<string, ReadonlyMap<string, boolean>>,
): string[][] {
  return stronglyConnected(
    group.map((t) => t.targetTable),
    (name) => parents.get(name)?.keys() ?? [],
  );
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
      deferredOrder(cycle, parents) === undefined,
  );
}

/**
 * The order a cycle loads in with its DEFERRABLE keys checked at COMMIT: its keys that are not
 * DEFERRABLE are checked row by row, so each of those parents comes before its child. Undefined
 * when those keys form a cycle of their own (then no order loads it).
 */
function deferredOrder(
  cycle: readonly string[],
  parents: ReadonlyMap<string, ReadonlyMap<string, boolean>>,
): string[] | undefined {
  const immediate = (name: string): string[] =>
    [...(parents.get(name) ?? [])]
      .filter(([parent, deferrable]) => !deferrable && cycle.includes(parent))
      .map(([parent]) => parent);
  const order = stronglyConnected(cycle, immediate);
  return order.every((c) => c.length === 1) ? order.flat() : undefined;
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
  const order = cycles.flatMap((c) => (c.length > 1 ? (deferredOrder(c, parents) ?? c) : c));
  return { tables: order.map((name) => byName.get(name) as TablePlan), deferred };
}

/** Some members load with disableTriggers and some without: the one TRUNCATE fires triggers. */
function mixedTriggers(plan: TruncateGroupPlan, byName: ReadonlyMap<string, TablePlan>): boolean {
  const off = plan.tables.filter((name) => byName.get(name)?.disableTriggers);
  return off.length > 0 && off.length < plan.tables.length;
}

/** What the plan says of a member's group: a truncate group's, or a cycle's in the other modes. */
function memberNote(t: TablePlan, plan: TruncateGroupPlan): string {
  const group = plan.tables;
  const others = listed(group.filter((name) => name !== t.targetTable));
  if (t.mode !== 'truncate') {
    return `load group ${listed(group)}: its foreign keys form a cycle with ${others}, so it loads with them in one transaction, in this order, so that all of them are loaded or none; ${
      plan.deferred
        ? 'the cycle is checked at COMMIT (SET CONSTRAINTS ALL DEFERRED)'
        : 'the cycle loads with checks off (disableTriggers)'
    }`;
  }
  return `truncate group ${listed(group)}: truncated in one statement with ${others} (foreign keys) and loaded with them in one transaction, in this order, so that all of them are replaced or none${
    plan.deferred
      ? '; its foreign-key cycle is checked at COMMIT (SET CONSTRAINTS ALL DEFERRED)'
      : ''
  }`;
}

/** A group member: says so, and keeps its indexes (its load runs in the group's transaction). */
function asMember(t: TablePlan, plan: TruncateGroupPlan, mixed: boolean): TablePlan {
  const rebuilt = t.rebuildIndexes !== undefined && t.rebuildIndexes.indexes.length > 0;
  const why = t.mode === 'truncate' ? IN_A_GROUP : IN_A_LOAD_GROUP;
  const kept = `indexes kept during the load: ${why}`;
  const split = t.split !== undefined && t.split.parts > 1;
  return {
    ...t,
    // The group's one transaction loads each member whole.
    ...(split ? { split: { parts: 1, reason: `not split: ${why}` } } : {}),
    loadGroup: plan.tables,
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
      memberNote(t, plan),
    ],
  };
}

const IN_A_LOAD_GROUP =
  'in a load group (a foreign-key cycle), whose tables load one after another in one transaction';

/**
 * Outside truncate mode each table commits on its own, after the tables it references: tables
 * whose foreign keys form a cycle (a strongly connected component of several tables) cannot be
 * ordered so, and each would fail its checks for want of the other's rows. Such a cycle loads as
 * one group, in one transaction on one connection, when its keys are DEFERRABLE (checked at the
 * COMMIT) or each of its tables has disableTriggers (checks off); otherwise its tables are refused.
 * The target may already hold the rows they reference, but the plan cannot know it: refusing is
 * the safe default. A self-reference is no cycle here (one table checks its own rows at once).
 */
export function withCycleGroups(
  tables: readonly TablePlan[],
  referencedByOf: (table: TablePlan) => readonly TableRef[],
): { tables: TablePlan[]; groups: TruncateGroupPlan[] } {
  const candidates = tables.filter(
    (t) => t.mode !== 'truncate' && t.errors.length === 0 && t.loadGroup === undefined,
  );
  const byName = new Map(candidates.map((t) => [t.targetTable, t]));
  const parents = parentLinks(candidates, referencedByOf);
  const refused = new Map<string, string>();
  const groups: TruncateGroupPlan[] = [];
  for (const cycle of stronglyConnected(
    candidates.map((t) => t.targetTable),
    (name) => parents.get(name)?.keys() ?? [],
  )) {
    if (cycle.length < 2) continue;
    const members = cycle.map((name) => byName.get(name) as TablePlan);
    const why = cycleProblem(cycle, members, parents);
    if (why !== undefined) {
      for (const name of cycle) refused.set(name, why);
      continue;
    }
    const off = members.every((m) => m.disableTriggers);
    const order = off ? cycle : (deferredOrder(cycle, parents) ?? cycle);
    groups.push({ tables: order, ...(off ? {} : { deferred: true as const }) });
  }
  const groupOf = new Map(groups.flatMap((g) => g.tables.map((name) => [name, g] as const)));
  return {
    tables: tables.map((t) => {
      if (!byName.has(t.targetTable)) return t;
      const why = refused.get(t.targetTable);
      if (why !== undefined) {
        return {
          ...t,
          errors: [...t.errors, why],
          warnings: t.warnings.filter((w) => !w.startsWith('foreign keys form a cycle through')),
        };
      }
      const group = groupOf.get(t.targetTable);
      return group ? asMember(t, group, false) : t;
    }),
    groups,
  };
}

/** Why a cycle cannot load as one group, if it cannot. */
function cycleProblem(
  cycle: readonly string[],
  members: readonly TablePlan[],
  parents: ReadonlyMap<string, ReadonlyMap<string, boolean>>,
): string | undefined {
  const names = listed(cycle);
  if (members.some((m) => m.strategy === 'fdw-push')) {
    return `foreign keys between ${names} form a cycle, whose tables can only load together in one target transaction, which fdw-push (committing through the source's session) cannot join: use another strategy, or leave one out`;
  }
  if (members.every((m) => m.disableTriggers) || deferredOrder(cycle, parents) !== undefined) {
    return undefined;
  }
  const stuck =
    cycle.length === 2
      ? 'neither table can be loaded before the other'
      : 'no table of it can be loaded before the others';
  return `foreign keys between ${names} form a cycle, and its foreign keys are not DEFERRABLE, so ${stuck}: make one DEFERRABLE, set disableTriggers, or leave one out`;
}
