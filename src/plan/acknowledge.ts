import type { TablePlan } from './types.js';

/**
 * The warning codes acknowledged for one pair, from the run's, its target's and its table's
 * `acknowledge` lists: `CODE` everywhere, `CODE:table` for the table of that name (its target
 * name, or its source name).
 */
export function acknowledgedFor(
  table: { readonly sourceTable: string; readonly targetTable: string },
  levels: readonly (readonly string[] | undefined)[],
): string[] {
  const codes = new Set<string>();
  for (const entry of levels.flatMap((level) => level ?? [])) {
    const [code = '', only] = entry.split(':', 2);
    if (only === undefined || only === table.targetTable || only === table.sourceTable) {
      codes.add(code);
    }
  }
  return [...codes];
}

/** The plan with its acknowledged codes (none: unchanged). */
export function withAcknowledged(
  plan: TablePlan,
  levels: readonly (readonly string[] | undefined)[],
): TablePlan {
  const acknowledge = acknowledgedFor(plan, levels);
  return acknowledge.length > 0 ? { ...plan, acknowledge } : plan;
}
