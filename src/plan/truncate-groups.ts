import type { TableRef } from '../db/catalog.js';
import type { TablePlan } from './types.js';

/** Tables of one target replaced together: one TRUNCATE, one transaction, foreign-key order. */
export interface TruncateGroupPlan {
  /** The member tables, in the order they load (a table after those its foreign keys reference). */
  readonly tables: readonly string[];
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
 * Tables whose foreign keys form a cycle can only be loaded with their checks off (disableTriggers
 * on each of them); otherwise they are refused. A group member is not split, keeps its indexes
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
      const cycle = cycleOf(group, referencedByOf);
      if (cycle.length === 0 || group.every((t) => t.disableTriggers)) continue;
      for (const t of group) {
        refused.set(
          t.targetTable,
          `truncate: foreign keys between ${listed(cycle)} form a cycle, so their group ${listed(group.map((m) => m.targetTable))} can only load in one transaction with its checks off: set disableTriggers on each, or use append or upsert`,
        );
      }
      changed = true;
    }
  }
  const groups = components(tables, referencedByOf, (t) => truncating(t) && t.errors.length === 0)
    .filter((g) => g.length > 1)
    .map((g) => loadOrder(g));
  const groupOf = new Map(groups.flatMap((g) => g.map((t) => [t.targetTable, g] as const)));
  return {
    tables: tables.map((t) => {
      const why = refused.get(t.targetTable);
      if (why !== undefined) return { ...t, errors: [...t.errors, why] };
      const group = groupOf.get(t.targetTable);
      return group
        ? asMember(
            t,
            group.map((m) => m.targetTable),
          )
        : t;
    }),
    groups: groups.map((g) => ({ tables: g.map((t) => t.targetTable) })),
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

/** The members that cannot be put in foreign-key order (on, or behind, a cycle). */
function cycleOf(
  group: readonly TablePlan[],
  referencedByOf: (table: TablePlan) => readonly TableRef[],
): string[] {
  const names = new Set(group.map((t) => t.targetTable));
  // Each member's parents within the group: the members whose referencedBy names it.
  const parents = new Map(group.map((t) => [t.targetTable, new Set<string>()]));
  for (const t of group) {
    for (const ref of referencedByOf(t)) {
      if (ref.schema === t.targetSchema && names.has(ref.table)) {
        parents.get(ref.table)?.add(t.targetTable);
      }
    }
  }
  for (let progress = true; progress;) {
    progress = false;
    for (const [name, above] of parents) {
      if ([...above].every((p) => !parents.has(p))) {
        parents.delete(name);
        progress = true;
      }
    }
  }
  return [...parents.keys()];
}

/** Parents before children (loadsAfter); what a cycle leaves unordered follows in plan order. */
function loadOrder(group: readonly TablePlan[]): TablePlan[] {
  const names = new Set(group.map((t) => t.targetTable));
  const placed: TablePlan[] = [];
  const done = new Set<string>();
  for (;;) {
    const left = group.filter((t) => !done.has(t.targetTable));
    const next =
      left.find((t) => (t.loadsAfter ?? []).every((p) => done.has(p) || !names.has(p))) ?? left[0];
    if (!next) break;
    placed.push(next);
    done.add(next.targetTable);
  }
  return placed;
}

/** A group member: says so, and keeps its indexes (its load runs in the group's transaction). */
function asMember(t: TablePlan, group: readonly string[]): TablePlan {
  const others = group.filter((name) => name !== t.targetTable);
  const rebuilt = t.rebuildIndexes !== undefined && t.rebuildIndexes.indexes.length > 0;
  const kept = `indexes kept during the load: ${IN_A_GROUP}`;
  return {
    ...t,
    truncateGroup: group,
    // A cycle within the group loads in its one transaction: no ordering needed, nothing left over.
    warnings: t.warnings.filter((w) => !w.startsWith('foreign keys form a cycle through')),
    ...(rebuilt ? { rebuildIndexes: { indexes: [], reason: kept } } : {}),
    notes: [
      ...(t.notes ?? []).filter((n) => !(rebuilt && n.includes('dropped for the load'))),
      ...(rebuilt ? [kept] : []),
      `truncate group ${listed(group)}: truncated in one statement with ${listed(others)} (foreign keys) and loaded with them in one transaction, in this order, so that all of them are replaced or none`,
    ],
  };
}
