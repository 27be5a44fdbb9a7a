import type { SplitConfig, SplitSetting } from '../config/types.js';
import { formatMegabytes } from '../report/format.js';
import { INTEGER_KEY_NEEDS } from './split-key.js';
import { isKeyedMode, type SplitPlan, type TablePlan } from './types.js';

/** TID range scans (`WHERE ctid >= ... AND ctid < ...` reading only those blocks) came in 14. */
export const TID_RANGE_SCAN_VERSION = 140000;

/** The most specific split setting: the table's, else the target's, else the run's. */
export function splitSettingOf(
  ...levels: readonly (SplitSetting | undefined)[]
): SplitConfig | undefined {
  const setting = levels.find((s) => s !== undefined);
  return setting === false ? undefined : setting;
}

/** What the split decision depends on besides the table's own plan. */
export interface SplitFacts {
  readonly setting: SplitConfig | undefined;
  /** server_version_num of the source. */
  readonly sourceVersion: number;
  /** The target's max_prepared_transactions (undefined: unknown, the target was not read). */
  readonly maxPreparedTransactions: number | undefined;
  /** The run's concurrency: a split table takes one slot per part. */
  readonly concurrency: number;
  /** Why rows of two parts could wait on each other (see partsMayWait), if they could. */
  readonly waitRisk?: string | undefined;
  /** The source column a key split would read ranges of (see integerKeyOf), if there is one. */
  readonly integerKey?: string | undefined;
}

/** How the parts divide the rows: block ranges where the source can scan them, else key ranges. */
type SplitWay = Pick<SplitPlan, 'by' | 'key'>;

const KIND_NAMES: Readonly<Record<string, string>> = {
  p: 'partitioned',
  v: 'a view',
  m: 'a materialized view',
  f: 'a foreign table',
};

/**
 * Block ranges (TID range scans) need a plain table on PostgreSQL 14 or later; otherwise ranges
 * of an integer key, where the source table has one. A string: why neither can be used.
 */
function splitWay(table: TablePlan, facts: SplitFacts): SplitWay | string {
  const noBlocks =
    table.sourceKind !== 'r'
      ? `the source is ${KIND_NAMES[table.sourceKind] ?? 'not a plain table'} (no block ranges)`
      : facts.sourceVersion < TID_RANGE_SCAN_VERSION
        ? `the source is PostgreSQL ${Math.floor(facts.sourceVersion / 10000)}: block ranges need 14 or later`
        : undefined;
  if (noBlocks === undefined) return { by: 'blocks' };
  if (facts.integerKey !== undefined) return { by: 'key', key: facts.integerKey };
  return `${noBlocks}, and it has no integer key to split by (${INTEGER_KEY_NEEDS})`;
}

/**
 * Why a table is copied in one stream although options.split asks for parts, or how it is split.
 * Every part is a transaction of its own on the target, committed together (the first
 * one commits, the others were prepared and follow): that keeps the table all-or-nothing only
 * where each part can write without waiting on another, and where the target can prepare.
 */
function refusal(table: TablePlan, facts: SplitFacts, setting: SplitConfig): SplitWay | string {
  if (table.strategy !== 'stream') return `strategy ${table.strategy} is not stream`;
  if (table.mode === 'truncate') {
    return "truncate mode: TRUNCATE's lock would hold every other part back until the commit";
  }
  // A part that staged rows holds a temporary table, and PostgreSQL cannot PREPARE such a
  // transaction (0A000): every part but the first would fail at its PREPARE.
  if (isKeyedMode(table.mode)) {
    return `${table.mode} writes through a temporary staging table, and a transaction that used one cannot be prepared to commit with the other parts`;
  }
  if (table.estimatedBytes < setting.minBytes) {
    return `${formatMegabytes(table.estimatedBytes)} MB is under split.minBytes (${formatMegabytes(setting.minBytes)} MB)`;
  }
  const way = splitWay(table, facts);
  if (typeof way === 'string') return way;
  if (facts.concurrency < 2) return 'concurrency 1 leaves no slot for a second part';
  if (facts.waitRisk !== undefined) return facts.waitRisk;
  const needed = Math.min(setting.parts, facts.concurrency) - 1;
  const allowed = facts.maxPreparedTransactions ?? 0;
  if (allowed < needed) {
    return `the target's max_prepared_transactions is ${allowed}; committing the parts together needs at least ${needed}`;
  }
  return way;
}

/** The plan's split decision for one table: how many parts, or why it stays one stream. */
export function applySplitRules(table: TablePlan, facts: SplitFacts): TablePlan {
  const setting = facts.setting;
  if (!setting || table.errors.length > 0) return table;
  const decided = refusal(table, facts, setting);
  const split: SplitPlan =
    typeof decided === 'string'
      ? { parts: 1, reason: decided }
      : { parts: Math.min(setting.parts, facts.concurrency), ...decided };
  return { ...table, split, notes: [...(table.notes ?? []), splitNote(split)] };
}

export function splitNote(split: SplitPlan): string {
  if (split.reason !== undefined) return `not split: ${split.reason}`;
  // A key split names its key; block ranges need none.
  const by = split.key === undefined ? 'block ranges' : `key ${split.key}`;
  return `split into ${split.parts} parts by ${by}, committed together`;
}

/**
 * The run's own limits on a planned split: its concurrency (a command-line override may lower the
 * config's) and --verify, which checks a table inside its one transaction before the commit.
 */
export function limitSplit(
  table: TablePlan,
  run: { readonly concurrency: number; readonly verify: boolean },
): TablePlan {
  const split = table.split;
  if (!split || split.parts <= 1) return table;
  const reason = run.verify
    ? '--verify checks a table inside one transaction'
    : run.concurrency < 2
      ? 'concurrency 1 leaves no slot for a second part'
      : undefined;
  const parts = Math.min(split.parts, run.concurrency);
  if (reason === undefined && parts === split.parts) return table;
  const limited: SplitPlan = reason === undefined ? { ...split, parts } : { parts: 1, reason };
  const notes = (table.notes ?? []).map((n) => (n === splitNote(split) ? splitNote(limited) : n));
  return { ...table, split: limited, notes };
}
