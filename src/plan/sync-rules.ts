import type pg from 'pg';
import type { TablePlan, TargetPlan } from './types.js';

/** How the source identifies a row in an UPDATE or DELETE it publishes (pg_class.relreplident). */
export interface ReplicaIdentity {
  readonly identity: 'd' | 'n' | 'f' | 'i';
  readonly hasPrimaryKey: boolean;
}

/** Source tables by name: their replica identity, for `pgcopy sync`'s rule. */
export async function readReplicaIdentities(
  client: pg.ClientBase,
  schema: string,
  tables: readonly string[],
): Promise<Map<string, ReplicaIdentity>> {
  const { rows } = await client.query<{
    relname: string;
    relreplident: ReplicaIdentity['identity'];
    pk: boolean;
  }>(
    `SELECT c.relname, c.relreplident,
            EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary) AS pk
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = ANY ($2::text[])`,
    [schema, [...new Set(tables)]],
  );
  return new Map(
    rows.map((r) => [r.relname, { identity: r.relreplident, hasPrimaryKey: r.pk }] as const),
  );
}

/** Whether the source can publish the table's updates and deletes (and so keep taking them). */
export function hasUsableIdentity(identity: ReplicaIdentity | undefined): boolean {
  if (!identity) return true; // a missing table has its own plan error
  if (identity.identity === 'f' || identity.identity === 'i') return true;
  return identity.identity === 'd' && identity.hasPrimaryKey;
}

/**
 * `pgcopy sync` puts every followed table in a publication of updates and deletes: PostgreSQL then
 * refuses UPDATE and DELETE on a table without a replica identity. Such a table is a plan error
 * (saying how to fix it) unless options.sync.insertOnly names it.
 */
export function applySyncRules(
  targets: readonly TargetPlan[],
  identities: ReadonlyMap<string, ReplicaIdentity>,
  insertOnly: readonly string[],
): TargetPlan[] {
  return targets.map((target) => ({
    ...target,
    tables: target.tables.map((t) => syncRule(t, identities.get(t.sourceTable), insertOnly)),
  }));
}

function syncRule(
  table: TablePlan,
  identity: ReplicaIdentity | undefined,
  insertOnly: readonly string[],
): TablePlan {
  const name = `${table.sourceSchema}.${table.sourceTable}`;
  // A catch-up carries the changes of every row: a filter would hold only for the first copy.
  const where: string[] =
    table.where === undefined
      ? []
      : [
          `sync: where filters only a copy, and a catch-up carries the changes of every row of ${name}; take where out for sync`,
        ];
  // A catch-up reads every change from the slot with its real values: the data rules that keep a
  // value on the source (computed in the copy's SELECT) cannot hold for it.
  const masked = (table.masks ?? []).map((m) => m.column);
  if (masked.length > 0) {
    where.push(
      `sync: data rules mask ${masked.join(', ')} of ${name}, but a catch-up reads the source's changes with their real values, so the rules could not keep them on the source; sync ${name} without data rules, or copy it with run only`,
    );
  }
  if (insertOnly.includes(table.sourceTable) || hasUsableIdentity(identity)) {
    return where.length === 0 ? table : { ...table, errors: [...table.errors, ...where] };
  }
  return {
    ...table,
    errors: [
      ...table.errors,
      ...where,
      `sync: source table ${name} has no primary key and no replica identity, so publishing its updates and deletes would make the source refuse UPDATE and DELETE on it; give it a primary key, or run ALTER TABLE ${name} REPLICA IDENTITY FULL, or list it in options.sync.insertOnly to follow its inserts only`,
    ],
  };
}
