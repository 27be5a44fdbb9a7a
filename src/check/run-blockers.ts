import type pg from 'pg';
import {
  readOnlyReason,
  readReferencedBy,
  readRowSecurity,
  sourceRowSecurityProblem,
  targetRowSecurityProblem,
} from '../db/run-blockers.js';
import type { EndpointNeeds } from './needs.js';

/**
 * What would make the run fail (or, on the source, silently read fewer rows) although every
 * privilege is granted: the same facts `plan` turns into errors.
 */
export async function runBlockers(client: pg.ClientBase, needs: EndpointNeeds): Promise<string[]> {
  const problems: string[] = [];
  const names = needs.tables.map((t) => t.table);
  const rowSecurity = await readRowSecurity(client, needs.schema, names);
  for (const need of needs.tables) {
    const rls = rowSecurity.get(need.table);
    if (!rls) continue;
    const name = `${needs.schema}.${need.table}`;
    if (needs.side === 'target') problems.push(targetRowSecurityProblem(name, rls));
    else if (need.applyRowSecurity !== true) problems.push(sourceRowSecurityProblem(name, rls));
  }
  if (needs.side === 'source') return problems;
  const readOnly = await readOnlyReason(client);
  if (readOnly !== undefined) problems.push(readOnly);
  const truncated = needs.tables.filter((t) => t.privileges.includes('TRUNCATE'));
  if (truncated.length > 0) {
    const referenced = await readReferencedBy(
      client,
      needs.schema,
      truncated.map((t) => t.table),
    );
    // Tables truncated together (every referencing table truncated too) form a truncate group,
    // as the plan makes them; a referrer that is not truncated blocks its table, and that table
    // in turn the tables it references.
    const names = new Set(truncated.map((t) => t.table));
    const blocked = new Map<string, string[]>();
    for (let changed = true; changed;) {
      changed = false;
      for (const [table, by] of referenced) {
        if (blocked.has(table)) continue;
        const outside = by.filter(
          (r) => r.schema !== needs.schema || !names.has(r.table) || blocked.has(r.table),
        );
        if (outside.length === 0) continue;
        blocked.set(
          table,
          outside.map((r) => r.name),
        );
        changed = true;
      }
    }
    for (const [table, by] of blocked) {
      problems.push(
        `truncate of ${needs.schema}.${table}: the foreign keys of ${by.join(', ')} reference it, ` +
          'so PostgreSQL refuses TRUNCATE unless they are truncated with it; copy them in truncate mode too, or use append or upsert for it',
      );
    }
  }
  return problems;
}
