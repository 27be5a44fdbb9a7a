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
    for (const [table, by] of referenced) {
      problems.push(
        `truncate of ${needs.schema}.${table}: the foreign keys of ${by.join(', ')} reference it, ` +
          'so PostgreSQL refuses TRUNCATE; use append or upsert for it',
      );
    }
  }
  return problems;
}
