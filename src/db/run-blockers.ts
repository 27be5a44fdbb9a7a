import type pg from 'pg';

/**
 * What stops a run that privileges alone do not show, read the same way by `plan` and `check`:
 * row-level security that applies to the role, a session that is read-only, and tables that
 * other tables' foreign keys reference (TRUNCATE is refused on them).
 */

/** A table whose row-level security applies to the connected role, with its policies. */
export interface RowSecurity {
  readonly role: string;
  readonly policies: readonly string[];
}

/**
 * The tables among `tables` whose row-level security applies to the current role (not the owner,
 * not a superuser, not BYPASSRLS; or the owner when FORCE ROW LEVEL SECURITY is set).
 */
export async function readRowSecurity(
  client: pg.ClientBase,
  schema: string,
  tables: readonly string[],
): Promise<Map<string, RowSecurity>> {
  const { rows } = await client.query<{ table: string; role: string; policies: string[] }>(
    `SELECT c.relname AS table, current_user::text AS role,
            coalesce((SELECT array_agg(p.polname::text ORDER BY p.polname)
                        FROM pg_catalog.pg_policy p WHERE p.polrelid = c.oid), '{}') AS policies
       FROM pg_catalog.pg_class c
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = ANY($2::text[]) AND c.relrowsecurity
        AND pg_catalog.row_security_active(c.oid)`,
    [schema, [...tables]],
  );
  return new Map(rows.map((r) => [r.table, { role: r.role, policies: r.policies }]));
}

/** Why a target session cannot write, or undefined when it can. */
export async function readOnlyReason(client: pg.ClientBase): Promise<string | undefined> {
  const { rows } = await client.query<{ standby: boolean; read_only: string }>(
    `SELECT pg_catalog.pg_is_in_recovery() AS standby,
            current_setting('default_transaction_read_only') AS read_only`,
  );
  const [row] = rows as [{ standby: boolean; read_only: string }];
  if (row.standby) return 'the server is a read-only standby (in recovery)';
  if (row.read_only === 'on') {
    return (
      'default_transaction_read_only is on for this role or database: every write would fail ' +
      '(25006); turn it off for the role pgcopy logs in as'
    );
  }
  return undefined;
}

/** A table whose foreign key references one of the named tables. */
export interface Referrer {
  /** As PostgreSQL's format('%I.%I') shows it. */
  readonly name: string;
  readonly schema: string;
  /** The top of its partition tree (a partition's key counts for its table). */
  readonly table: string;
}

/**
 * For each named table of `schema` that another table's foreign key references (itself excluded):
 * the referencing tables. PostgreSQL refuses to TRUNCATE such a table unless they are truncated in
 * the same statement.
 */
export async function readReferencedBy(
  client: pg.ClientBase,
  schema: string,
  tables: readonly string[],
): Promise<Map<string, Referrer[]>> {
  const { rows } = await client.query<{
    table: string;
    name: string;
    schema: string;
    root: string;
  }>(
    `SELECT DISTINCT c.relname AS table, format('%I.%I', rn.nspname, r.relname) AS name,
            tn.nspname AS schema, t.relname AS root
       FROM pg_catalog.pg_constraint k
       JOIN pg_catalog.pg_class c ON c.oid = k.confrelid
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_catalog.pg_class r ON r.oid = k.conrelid
       JOIN pg_catalog.pg_namespace rn ON rn.oid = r.relnamespace
       JOIN pg_catalog.pg_class t ON t.oid = coalesce(pg_catalog.pg_partition_root(r.oid), r.oid)
       JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace
      WHERE k.contype = 'f' AND k.conrelid <> k.confrelid AND k.conparentid = 0
        AND n.nspname = $1 AND c.relname = ANY($2::text[])
      ORDER BY 1, 2`,
    [schema, [...tables]],
  );
  const referenced = new Map<string, Referrer[]>();
  for (const row of rows) {
    const by = referenced.get(row.table) ?? [];
    by.push({ name: row.name, schema: row.schema, table: row.root });
    referenced.set(row.table, by);
  }
  return referenced;
}

/** The plan/check message for row-level security on a source table the run is not told to apply. */
export function sourceRowSecurityProblem(name: string, rls: RowSecurity): string {
  return (
    `row-level security on source table ${name} applies to role ${rls.role} ` +
    `(${policyList(rls)}): the copy would read only the rows they let it see. Copy as the ` +
    "table's owner or a BYPASSRLS role, or set rowSecurity: apply on the table to copy just those rows"
  );
}

/** The plan/check message for row-level security on a target table: COPY FROM is refused. */
export function targetRowSecurityProblem(name: string, rls: RowSecurity): string {
  return (
    `row-level security on target table ${name} applies to role ${rls.role} ` +
    `(${policyList(rls)}): PostgreSQL refuses COPY FROM into it (0A000). Load as the ` +
    "table's owner or a BYPASSRLS role"
  );
}

function policyList(rls: RowSecurity): string {
  return rls.policies.length === 0
    ? 'no policy: every row is hidden'
    : `polic${rls.policies.length === 1 ? 'y' : 'ies'} ${rls.policies.join(', ')}`;
}
