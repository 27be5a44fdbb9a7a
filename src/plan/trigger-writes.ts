import type { TriggerInfo } from '../db/catalog.js';

function tableList(names: readonly string[]): string {
  return names.map((n) => `"${n}"`).join(', ');
}

/**
 * A trigger that fills another table the same run copies (an `_meta` row per inserted row) makes
 * duplicate keys there, or its rows are replaced: the plan connects the two as far as it can. The
 * catalog records the tables of a SQL-standard body (BEGIN ATOMIC) only, and a trigger function
 * cannot be one: so the plan names the planned tables whose name the function's source mentions,
 * as "may write to", and says for the others that it cannot know.
 */
export function triggerWrites(triggers: readonly TriggerInfo[]): {
  warnings: string[];
  notes: string[];
} {
  const warnings: string[] = [];
  const unknown = new Set<string>();
  for (const trigger of triggers) {
    const named = `trigger "${trigger.name}" (${trigger.function}())`;
    if (trigger.namedInSource === undefined) continue; // compiled code: no source to read
    if (trigger.namedInSource.length > 0) {
      warnings.push(
        `${named} may write to planned table(s) ${tableList(trigger.namedInSource)} (its source names them; the catalog records no tables for a trigger function): rows it writes there may collide with the copied ones (duplicate keys) or be replaced by them`,
      );
    } else {
      unknown.add(named);
    }
  }
  const notes =
    unknown.size === 0
      ? []
      : [
          `cannot know which tables ${[...unknown].join(', ')} write to (the catalog records no tables for a trigger function); their source names no planned table`,
        ];
  return { warnings, notes };
}
