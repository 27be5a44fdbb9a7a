import { readUnits } from '../copy/fanout/read-units.js';
import { ConfigError, PgcopyError } from '../errors.js';
import type { Plan, TablePlan } from './types.js';

/**
 * One invocation's share of a run: an event that narrows the config to exactly its pairs (the
 * targets and tables filters select the pairs whose target is listed and whose source or target
 * table is listed: every combination of the two lists).
 */
export interface PlanItem {
  readonly targets: readonly string[];
  readonly tables: readonly string[];
  /** The pairs' estimated size on the source (the plan's estimates: table size on disk). */
  readonly estimatedBytes: number;
  /** How many (target, table) pairs the item copies. */
  readonly pairs: number;
}

/** The pairs that must run in one invocation, and the names that select them. */
interface WorkUnit {
  readonly pairs: readonly TablePlan[];
  readonly targets: readonly string[];
  readonly tables: readonly string[];
  readonly bytes: number;
}

/** Union-find over the plan's pairs: joined pairs run in the same invocation. */
class Joined {
  private readonly parent = new Map<TablePlan, TablePlan>();

  root(t: TablePlan): TablePlan {
    let r = t;
    for (let p = this.parent.get(r); p !== undefined && p !== r; p = this.parent.get(r)) r = p;
    this.parent.set(t, r);
    return r;
  }

  join(a: TablePlan, b: TablePlan): void {
    const ra = this.root(a);
    const rb = this.root(b);
    if (ra !== rb) this.parent.set(rb, ra);
  }
}

/**
 * The run's units of work: a table read once for several targets, a load group (a truncate group
 * or a foreign-key cycle), and a table with the tables it loads after (its parents load first,
 * which only one invocation can order) stay together; every other pair is a unit of its own. A
 * split table is one pair: its parts commit together in one process.
 */
function workUnits(plan: Plan): WorkUnit[] {
  const all = plan.targets.flatMap((t) => t.tables);
  const copyable = all.filter((t) => t.errors.length === 0);
  const joined = new Joined();
  for (const unit of readUnits(copyable, plan.readOnce)) {
    for (const t of unit.tables.slice(1)) joined.join(unit.tables[0] as TablePlan, t);
  }
  for (const t of copyable) {
    for (const parent of t.loadsAfter ?? []) {
      const p = copyable.find((c) => c.targetName === t.targetName && c.targetTable === parent);
      if (p) joined.join(t, p);
    }
  }
  const byRoot = new Map<TablePlan, TablePlan[]>();
  // A refused pair is an item's too: its invocation reports why it cannot be copied.
  for (const t of all) {
    const root = t.errors.length === 0 ? joined.root(t) : t;
    byRoot.set(root, [...(byRoot.get(root) ?? []), t]);
  }
  return [...byRoot.values()].map((pairs) => {
    const targets = [...new Set(pairs.map((t) => t.targetName))];
    const unit = (name: (t: TablePlan) => string): WorkUnit => ({
      pairs,
      targets,
      tables: [...new Set(pairs.map(name))],
      bytes: pairs.reduce((s, t) => s + t.estimatedBytes, 0),
    });
    // A shared read by its source name; one target's tables by their target names, else (a
    // renamed table whose target name is another's source name) by their source names.
    const bySource = unit((t) => t.sourceTable);
    if (targets.length > 1) return bySource;
    const byTarget = unit((t) => t.targetTable);
    return selectsExactly(plan, [byTarget]) ? byTarget : bySource;
  });
}

/** The plan's pairs an event with these filters selects (as selectTables narrows a config). */
export function pairsSelected(
  plan: Plan,
  filters: { readonly targets: readonly string[]; readonly tables: readonly string[] },
): TablePlan[] {
  return plan.targets
    .filter((t) => filters.targets.includes(t.name))
    .flatMap((t) => t.tables)
    .filter(
      (t) => filters.tables.includes(t.sourceTable) || filters.tables.includes(t.targetTable),
    );
}

function itemOf(units: readonly WorkUnit[]): PlanItem & { readonly members: TablePlan[] } {
  const members = units.flatMap((u) => u.pairs);
  return {
    targets: [...new Set(units.flatMap((u) => u.targets))],
    tables: [...new Set(units.flatMap((u) => u.tables))],
    estimatedBytes: units.reduce((s, u) => s + u.bytes, 0),
    pairs: members.length,
    members,
  };
}

/** The item selects exactly its own pairs, none of another unit's. */
function selectsExactly(plan: Plan, units: readonly WorkUnit[]): boolean {
  const item = itemOf(units);
  const selected = pairsSelected(plan, item);
  const own = new Set(item.members);
  return selected.length === own.size && selected.every((t) => own.has(t));
}

/**
 * Units of the same targets packed into `bins` items: largest first into the lightest item it
 * fits in (LPT scheduling, balanced by estimated bytes); undefined when one does not fit.
 * Units of the same targets that each select exactly their own pairs do so together too (a
 * table is selected by its own name), so an item's names stay exact.
 */
function pack(units: readonly WorkUnit[], bins: number, budget: number): WorkUnit[][] | undefined {
  const items = Array.from({ length: bins }, () => ({ units: [] as WorkUnit[], bytes: 0 }));
  for (const unit of units) {
    const lightest = items.reduce((a, b) => (b.bytes < a.bytes ? b : a));
    if (lightest.bytes + unit.bytes > budget) return undefined;
    lightest.units.push(unit);
    lightest.bytes += unit.bytes;
  }
  return items.filter((i) => i.units.length > 0).map((i) => i.units);
}

/** Units of one set of targets (largest first) as items within the budget, as few as fit. */
function packGroup(units: readonly WorkUnit[], budget: number): WorkUnit[][] {
  const total = units.reduce((s, u) => s + u.bytes, 0);
  for (let bins = Math.max(1, Math.ceil(total / budget)); bins < units.length; bins++) {
    const packed = pack(units, bins, budget);
    if (packed) return packed;
  }
  return units.map((u) => [u]);
}

/** The default budget: what one invocation copies comfortably within its time limit. */
export const DEFAULT_ITEM_BUDGET_BYTES = 2 * 1024 ** 3;

/**
 * The plan as items for a fan-out: every planned pair in exactly one item, the pairs that must
 * run together in the same one, items of at most `budgetBytes` estimated bytes (a unit larger
 * than the budget is an item of its own), balanced by estimated bytes.
 */
export function planItems(plan: Plan, budgetBytes = DEFAULT_ITEM_BUDGET_BYTES): PlanItem[] {
  if (!Number.isFinite(budgetBytes) || budgetBytes <= 0) {
    throw new ConfigError(`budgetBytes: expected a positive number of bytes, got ${budgetBytes}`);
  }
  const units = workUnits(plan).sort((a, b) => b.bytes - a.bytes);
  for (const unit of units) {
    if (!selectsExactly(plan, [unit])) {
      throw new PgcopyError(
        'PLAN',
        `items: the pairs ${unit.pairs.map((t) => `${t.targetName}.${t.targetTable}`).join(', ')} cannot be selected by target and table names alone (another table of the same name would be selected with them)`,
      );
    }
  }
  const large = units.filter((u) => u.bytes > budgetBytes);
  const groups = new Map<string, WorkUnit[]>();
  for (const unit of units.filter((u) => u.bytes <= budgetBytes)) {
    const key = JSON.stringify([...unit.targets].sort());
    groups.set(key, [...(groups.get(key) ?? []), unit]);
  }
  const items = [
    ...large.map((u) => [u]),
    ...[...groups.values()].flatMap((group) => packGroup(group, budgetBytes)),
  ];
  return items.map((units) => {
    const { targets, tables, estimatedBytes, pairs } = itemOf(units);
    return { targets, tables, estimatedBytes, pairs };
  });
}
