import { sharedReadColumns } from './read-columns.js';
import { quotedNames } from './name-list.js';
import type { TablePlan, TargetPlan } from './types.js';

/** A (target, table) pair, as the plan names it. */
export interface PairName {
  readonly target: string;
  readonly table: string;
}

/** A source table read once, in one COPY, for several targets. */
export interface SharedReadPlan {
  readonly source: string;
  readonly format: 'binary' | 'text';
  /**
   * The source columns read (source names: a renamed column under its source name), every
   * member's, each once; each target gets the ones its own columns are read from.
   */
  readonly columns: readonly string[];
  readonly pairs: readonly PairName[];
}

/** A pair whose source table other targets take too, read on its own, and why. */
export interface SeparateReadPlan extends PairName {
  readonly source: string;
  readonly reason: string;
}

/** Which source tables are read once for several targets (options.readOnce). */
export interface ReadOncePlan {
  readonly enabled: boolean;
  readonly shared: readonly SharedReadPlan[];
  readonly separate: readonly SeparateReadPlan[];
}

const nameOf = (t: TablePlan): PairName => ({ target: t.targetName, table: t.targetTable });

/** Why `t` cannot share `with`'s read; undefined when it can. */
function mismatch(t: TablePlan, group: readonly TablePlan[]): string | undefined {
  const [first] = group as [TablePlan];
  if (t.where !== first.where) return 'its where filter differs from the other targets';
  if (t.format !== first.format) {
    return `it is copied in ${t.format} format, the others in ${first.format} (the column types differ): one read cannot serve both`;
  }
  if (t.rowSecurity !== first.rowSecurity) return 'row security applies to one of them only';
  if (group.some((m) => m.targetName === t.targetName)) {
    return `target ${t.targetName} takes the table twice: each copy reads it`;
  }
  return undefined;
}

/**
 * Groups the pairs that take the same source table with the same `where`, the `stream` strategy
 * and the same COPY format (and row security): one read serves them all. Every other pair of a
 * table that several targets take is listed with the reason it is read on its own.
 */
export function planReadOnce(targets: readonly TargetPlan[], enabled: boolean): ReadOncePlan {
  const bySource = new Map<string, TablePlan[]>();
  for (const t of targets.flatMap((target) => target.tables)) {
    if (t.errors.length > 0) continue;
    bySource.set(t.sourceTable, [...(bySource.get(t.sourceTable) ?? []), t]);
  }
  const groups: TablePlan[][] = [];
  const separate: SeparateReadPlan[] = [];
  const alone = (t: TablePlan, reason: string): void => {
    separate.push({ source: t.sourceTable, ...nameOf(t), reason });
  };
  for (const pairs of bySource.values()) {
    if (new Set(pairs.map((t) => t.targetName)).size < 2) continue;
    if (!enabled) {
      for (const t of pairs) alone(t, 'options.readOnce is false');
      continue;
    }
    const streamed: TablePlan[][] = [];
    for (const t of pairs) {
      if (t.loadGroup) {
        alone(
          t,
          `it is in a ${t.mode === 'truncate' ? 'truncate' : 'load'} group (${quotedNames(t.loadGroup)}), whose tables load one after another in one target transaction`,
        );
        continue;
      }
      if (t.strategy !== 'stream') {
        alone(t, `strategy ${t.strategy} moves the rows between the servers`);
        continue;
      }
      if ((t.split?.parts ?? 1) > 1) {
        alone(t, `it is split into ${t.split?.parts} parts, each a read of its own`);
        continue;
      }
      const group = streamed.find((g) => mismatch(t, g) === undefined);
      if (group) group.push(t);
      else streamed.push([t]);
    }
    // Only streamed pairs are left here, so there is a largest group.
    const largest = [...streamed].sort((a, b) => b.length - a.length)[0] as TablePlan[];
    for (const group of streamed) {
      if (group.length > 1) groups.push(group);
      else if (group !== largest)
        alone(group[0] as TablePlan, mismatch(group[0] as TablePlan, largest) as string);
      else alone(group[0] as TablePlan, 'no other target reads it with the stream strategy');
    }
  }
  for (const cyclic of loadOrderCycles(targets, groups)) {
    groups.splice(groups.indexOf(cyclic), 1);
    for (const t of cyclic) {
      alone(
        t,
        'the targets load it in different orders (foreign keys): one read would wait on itself',
      );
    }
  }
  return {
    enabled,
    shared: groups.map((group) => ({
      source: (group[0] as TablePlan).sourceTable,
      format: (group[0] as TablePlan).format,
      columns: sharedReadColumns(group).map((c) => c.source),
      pairs: group.map(nameOf),
    })),
    separate,
  };
}

/**
 * The groups to read separately so that the load order (a table after the tables its foreign
 * keys reference, per target) has no cycle: a group runs its members at once, so a group whose
 * member waits, in one target, for a table that, in another, waits for the group, never starts.
 */
function loadOrderCycles(
  targets: readonly TargetPlan[],
  groups: readonly TablePlan[][],
): TablePlan[][] {
  const removed: TablePlan[][] = [];
  for (;;) {
    const live = groups.filter((g) => !removed.includes(g));
    const cycle = findCycle(targets, live);
    if (!cycle) return removed;
    removed.push(cycle);
  }
}

/** A group on a cycle of the units' load order, if there is one. */
function findCycle(
  targets: readonly TargetPlan[],
  groups: readonly TablePlan[][],
): TablePlan[] | undefined {
  const unitOf = new Map<TablePlan, readonly TablePlan[]>();
  for (const t of targets.flatMap((target) => target.tables)) unitOf.set(t, [t]);
  for (const g of groups) for (const t of g) unitOf.set(t, g);
  // A table's parents are tables of its own target: each has a unit.
  const parents = (unit: readonly TablePlan[]): (readonly TablePlan[])[] =>
    unit.flatMap((t) =>
      (targets.find((target) => target.name === t.targetName) as TargetPlan).tables
        .filter((p) => t.loadsAfter?.includes(p.targetTable))
        .map((p) => unitOf.get(p) as readonly TablePlan[])
        .filter((parent) => parent !== unit),
    );
  const done = new Set<readonly TablePlan[]>();
  const path = new Set<readonly TablePlan[]>();
  const visit = (unit: readonly TablePlan[]): readonly TablePlan[] | undefined => {
    if (done.has(unit)) return undefined;
    if (path.has(unit)) return unit;
    path.add(unit);
    for (const parent of parents(unit)) {
      const found = visit(parent);
      if (found) return found;
    }
    path.delete(unit);
    done.add(unit);
    return undefined;
  };
  for (const g of groups) {
    const found = visit(g);
    if (found) {
      // The unit found closes the cycle; a group on it is what to split.
      const onCycle = [...path];
      const group = onCycle
        .slice(onCycle.indexOf(found))
        .find((u) => u.length > 1 && groups.includes(u as TablePlan[]));
      return group as TablePlan[] | undefined;
    }
  }
  return undefined;
}
