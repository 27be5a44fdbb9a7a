import type { TriggerInfo } from '../db/catalog.js';
import type { TableWrite } from '../db/trigger-source.js';

function tableList(names: readonly string[]): string {
  return names.map((n) => `"${n}"`).join(', ');
}

function writeList(writes: readonly TableWrite[]): string {
  return writes.map((w) => `"${w.table}" (${w.statements.join(', ')})`).join(', ');
}

/**
 * A trigger that fills another table the same run copies (an `_meta` row per inserted row) makes
 * duplicate keys there, or its rows are replaced, deleted or doubled. The catalog records the
 * tables of a SQL-standard body (BEGIN ATOMIC) only, and a trigger function cannot be one: so the
 * plan reads the PL/pgSQL source. A planned table its own statements write into (INSERT INTO,
 * UPDATE, DELETE FROM, MERGE INTO, TRUNCATE) is refused (see trigger-write-rules.ts) and this
 * table warns of it; a planned table its source only mentions is noted as "may use"; dynamic SQL
 * (EXECUTE) and other languages are noted as unknown.
 */
export function triggerWrites(
  triggers: readonly TriggerInfo[],
  table: string,
): {
  warnings: string[];
  notes: string[];
} {
  const warnings: string[] = [];
  const notes: string[] = [];
  const unknown = new Set<string>();
  for (const trigger of triggers) {
    const named = `trigger "${trigger.name}" (${trigger.function}())`;
    if (trigger.namedInSource === undefined) continue; // compiled code: no source to read
    // A write into this table itself is a refusal of its own (trigger-write-rules.ts).
    const writes = (trigger.writesTo ?? []).filter((w) => w.table !== table);
    if (writes.length > 0) {
      warnings.push(
        `${named} writes into planned table(s) ${writeList(writes)}: the plan refuses them while this table loads with the trigger on`,
      );
    }
    const written = new Set((trigger.writesTo ?? []).map((w) => w.table));
    const mentioned = trigger.namedInSource.filter((n) => !written.has(n));
    if (mentioned.length > 0) {
      notes.push(
        `${named} may use planned table(s) ${tableList(mentioned)} (its source names them, not as the table of an INSERT, UPDATE, DELETE, MERGE or TRUNCATE)`,
      );
    }
    if (trigger.writesTo === undefined) unknown.add(`${named}, in ${trigger.language}`);
    else if (trigger.dynamicSql) unknown.add(`${named}, which runs dynamic SQL (EXECUTE)`);
  }
  if (unknown.size > 0) {
    notes.push(
      `cannot know which tables ${[...unknown].join('; ')} write(s) to: pgcopy reads the tables of PL/pgSQL statements only (the catalog records no tables for a trigger function)`,
    );
  }
  return { warnings, notes };
}
