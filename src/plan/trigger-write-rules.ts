import type { TablePlan } from './types.js';

/** Why a table is refused: a trigger of another planned table writes into it during the load. */
export function triggerWriteReason(
  trigger: string,
  table: string,
  statements: readonly string[],
): string {
  return `trigger "${trigger}" on planned table "${table}" writes into this table (${statements.join(', ')}): copying both with triggers on would add or change its rows; set disableTriggers on the target (or for "${table}"), or leave one of the two out`;
}

/** Why a table is refused: a trigger of its own writes into another planned table as it loads. */
export function writerReason(trigger: string, tables: readonly string[]): string {
  return `its trigger "${trigger}" writes into planned table(s) ${tables.map((t) => `"${t}"`).join(', ')} as it loads: those cannot come out equal to their source while this table loads with triggers on, and this one would write rows the copy does not account for; set disableTriggers on the target (or for this table), or leave the tables it writes out of the run`;
}

/** Why a table is refused: a trigger of its own writes into it while it loads. */
export function selfWriteReason(trigger: string, statements: readonly string[]): string {
  return `trigger "${trigger}" on this table writes into this table itself (${statements.join(', ')}): loading it with triggers on would add, change or delete rows as they load, so it cannot come out equal to its source; set disableTriggers for it, or leave it out`;
}

/**
 * A trigger that fires while one planned table loads and writes into another planned table of the
 * same target adds rows there (duplicate keys, or doubled rows without a key), or updates or
 * deletes rows already copied: that table cannot come out equal to its source. The plan refuses
 * the table written into, naming the trigger; a table whose own trigger writes into it (MusicBrainz's
 * delete_unused_tag empties `tag` as it loads) likewise. Only tables the plan still loads count as writers
 * (a refused table fires nothing); this runs before the rules that spread refusals along foreign
 * keys (truncate groups, disableTriggers' orphans), so they see it.
 */
export function withTriggerWriteRefusals(tables: readonly TablePlan[]): TablePlan[] {
  const reasons = new Map<string, string[]>();
  const refuse = (table: string, why: string): void => {
    const list = reasons.get(table) ?? [];
    if (!list.includes(why)) list.push(why);
    reasons.set(table, list);
  };
  const planned = new Set(tables.map((t) => t.targetTable));
  for (const writer of tables) {
    if (writer.errors.length > 0) continue;
    for (const trigger of writer.triggers ?? []) {
      // The writer too: both tables were asked for as they are on the source, and the trigger
      // makes one of them otherwise (or fails on it, as a parent it needs is not there yet).
      const others = (trigger.writesTo ?? [])
        .map((w) => w.table)
        .filter((t) => t !== writer.targetTable && planned.has(t));
      if (others.length > 0) refuse(writer.targetTable, writerReason(trigger.name, others));
      for (const write of trigger.writesTo ?? []) {
        if (!planned.has(write.table)) continue;
        const why =
          write.table === writer.targetTable
            ? selfWriteReason(trigger.name, write.statements)
            : triggerWriteReason(trigger.name, writer.targetTable, write.statements);
        refuse(write.table, why);
      }
    }
  }
  return tables.map((t) => {
    const why = reasons.get(t.targetTable);
    return why ? { ...t, errors: [...t.errors, ...why] } : t;
  });
}
