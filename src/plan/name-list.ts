/** How many names a message about a group of tables lists before it counts the rest. */
export const LISTED_IN_MESSAGES = 8;

/**
 * Quoted table names, at most `limit` of them and a count of the others: a note or an error
 * repeated for each table of a group of hundreds stays one readable line (`plan --json` and the
 * group's own line in the text plan list them all).
 */
export function quotedNames(names: readonly string[], limit = LISTED_IN_MESSAGES): string {
  const listed = names
    .slice(0, limit)
    .map((n) => `"${n}"`)
    .join(', ');
  const rest = names.length - limit;
  return rest > 0 ? `${listed} … and ${rest} more` : listed;
}
