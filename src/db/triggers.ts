import type pg from 'pg';
import { WRITTEN_RELATIONS_CTE } from './written-relations.js';
import {
  functionsCalled,
  runsDynamicSql,
  tablesNamedInLiterals,
  tablesWritten,
  type TableWrite,
} from './trigger-source.js';

export type TriggerEvent = 'INSERT' | 'UPDATE' | 'DELETE' | 'TRUNCATE';

/** A user trigger (not one PostgreSQL made for a constraint) that fires when a table is loaded. */
export interface TriggerInfo {
  readonly name: string;
  /** The table the trigger fires on: the loaded table itself, or one of its partitions. */
  readonly table: string;
  readonly timing: 'BEFORE' | 'AFTER' | 'INSTEAD OF';
  readonly events: readonly TriggerEvent[];
  readonly level: 'ROW' | 'STATEMENT';
  /** pg_trigger.tgenabled: O fires normally, A always, R only as a replica, D never. */
  readonly enabled: 'O' | 'A' | 'R' | 'D';
  /** The trigger function, `schema.name` (each part quoted where SQL needs it). */
  readonly function: string;
  /** The function's language (plpgsql, sql, c, internal...). */
  readonly language: string;
  /** The function sets its own search_path (`ALTER FUNCTION ... SET search_path`, proconfig). */
  readonly ownSearchPath: boolean;
  /**
   * Tables of the selection (this schema's named tables, other than the one the trigger loads)
   * whose name appears in the function's source text. The catalog records no tables for a trigger
   * function: only a SQL-standard body (BEGIN ATOMIC) records its dependencies, and a trigger
   * function cannot be written in SQL. Absent for compiled (C, internal) functions.
   */
  readonly namedInSource?: readonly string[];
  /**
   * Tables of the selection (the one the trigger loads among them) that the function's statements,
   * or those of the PL/pgSQL functions it calls by name, write into: INSERT INTO, UPDATE, DELETE
   * FROM, MERGE INTO, TRUNCATE (see db/trigger-source.ts). Absent for other languages.
   */
  readonly writesTo?: readonly TableWrite[];
  /** The PL/pgSQL source runs dynamic SQL (EXECUTE), whose tables its text does not show. */
  readonly dynamicSql?: true;
}

/**
 * User triggers that can fire while a named table is loaded: its own, and the row triggers of its
 * leaf partitions (where routed rows land; a trigger declared on a partitioned table is cloned onto
 * each partition under the same name) and their TRUNCATE triggers. A partitioned table's own row
 * triggers never fire (their clones do), nor do a partition's statement INSERT or UPDATE triggers.
 * Before PostgreSQL 13 the clones were marked internal; unlike constraint triggers they have no
 * constraint.
 */
const TRIGGERS_SQL = `
WITH ${WRITTEN_RELATIONS_CTE}
SELECT w.root AS table_name, w.relname AS on_table, t.tgname AS name, t.tgtype::int AS type,
       t.tgenabled::text AS enabled,
       EXISTS (SELECT 1 FROM pg_catalog.pg_trigger rt
                WHERE rt.tgrelid = w.root_oid AND rt.tgname = t.tgname) AS declared_on_root,
       pg_catalog.format('%I.%I', pn.nspname, p.proname) AS function, l.lanname::text AS language,
       p.prosrc AS source, pn.nspname AS function_schema,
       EXISTS (SELECT 1 FROM pg_catalog.unnest(p.proconfig) c
                WHERE c LIKE 'search_path=%') AS own_search_path,
       -- A whole word of the source, optionally double-quoted, matched without regard to case.
       CASE WHEN l.lanname NOT IN ('c', 'internal') THEN ARRAY(
         SELECT r.relname::text FROM named r
          WHERE r.relname <> w.root
            AND p.prosrc ~* ('(^|[^[:alnum:]_$])"?'
                 || pg_catalog.regexp_replace(r.relname, '([^[:alnum:]_])', '\\\\\\1', 'g')
                 || '"?($|[^[:alnum:]_$])')
          ORDER BY 1) END AS named_in_source
  FROM written w
  JOIN pg_catalog.pg_trigger t ON t.tgrelid = w.relid
  JOIN pg_catalog.pg_proc p ON p.oid = t.tgfoid
  JOIN pg_catalog.pg_namespace pn ON pn.oid = p.pronamespace
  JOIN pg_catalog.pg_language l ON l.oid = p.prolang
 WHERE (NOT t.tgisinternal OR t.tgconstraint = 0)
   -- tgtype bit 1: a row trigger; bit 32: TRUNCATE.
   AND CASE WHEN t.tgtype & 1 <> 0 THEN w.relkind <> 'p'
            ELSE w.relid = w.root_oid OR t.tgtype & 32 <> 0 END
 ORDER BY w.root, t.tgname, w.relname`;

interface TriggerRow {
  table_name: string;
  on_table: string;
  name: string;
  type: number;
  enabled: TriggerInfo['enabled'];
  declared_on_root: boolean;
  function: string;
  language: string;
  own_search_path: boolean;
  named_in_source: string[] | null;
  source: string;
  function_schema: string;
}

/** PL/pgSQL functions of some schemas, whose calls a trigger function's source may make. */
const FUNCTIONS_SQL = `
SELECT n.nspname AS schema, p.proname AS name, p.prosrc AS source
  FROM pg_catalog.pg_proc p
  JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
  JOIN pg_catalog.pg_language l ON l.oid = p.prolang
 WHERE l.lanname = 'plpgsql' AND n.nspname = ANY($1::text[])`;

/** PL/pgSQL sources by `schema.name` (overloads joined). */
type Sources = ReadonlyMap<string, string>;

/**
 * The source a trigger runs: its function's, and that of every PL/pgSQL function it calls in
 * turn, by name (an unqualified name looked up in the function's schema and the target's).
 */
function sourceRun(row: TriggerRow, schema: string, functions: Sources): string {
  const seen = new Set<string>();
  const parts = [row.source];
  const queue = [row.source];
  for (let src = queue.pop(); src !== undefined; src = queue.pop()) {
    for (const call of functionsCalled(src)) {
      const schemas = call.schema === undefined ? [row.function_schema, schema] : [call.schema];
      for (const key of schemas.map((s) => `${s}.${call.name}`)) {
        const called = functions.get(key);
        if (called === undefined || seen.has(key)) continue;
        seen.add(key);
        parts.push(called);
        queue.push(called);
      }
    }
  }
  return parts.join('\n;\n');
}

// pg_trigger.tgtype bits (src/include/catalog/pg_trigger.h).
const ROW = 1 << 0;
const BEFORE = 1 << 1;
const INSTEAD = 1 << 6;
const EVENTS: readonly [number, TriggerEvent][] = [
  [1 << 2, 'INSERT'],
  [1 << 3, 'DELETE'],
  [1 << 4, 'UPDATE'],
  [1 << 5, 'TRUNCATE'],
];

/** What a PL/pgSQL function's source shows of the planned tables it writes into. */
function sourceWrites(
  row: TriggerRow,
  schema: string,
  names: readonly string[],
  functions: Sources,
): Pick<TriggerInfo, 'writesTo' | 'dynamicSql'> {
  if (row.language !== 'plpgsql') return {};
  const source = sourceRun(row, schema, functions);
  const written = tablesWritten(source, schema, names);
  if (!runsDynamicSql(source)) return { writesTo: written };
  // Dynamic SQL: a planned table named whole in a string literal is taken as written through it.
  const seen = new Set(written.map((w) => w.table));
  const dynamic = tablesNamedInLiterals(source, schema, names).filter((w) => !seen.has(w.table));
  return { writesTo: [...written, ...dynamic], dynamicSql: true as const };
}

function toTrigger(
  row: TriggerRow,
  schema: string,
  names: readonly string[],
  functions: Sources,
): TriggerInfo {
  return {
    name: row.name,
    table: row.declared_on_root ? row.table_name : row.on_table,
    timing: row.type & BEFORE ? 'BEFORE' : row.type & INSTEAD ? 'INSTEAD OF' : 'AFTER',
    events: EVENTS.filter(([bit]) => row.type & bit).map(([, event]) => event),
    level: row.type & ROW ? 'ROW' : 'STATEMENT',
    enabled: row.enabled,
    function: row.function,
    language: row.language,
    ownSearchPath: row.own_search_path,
    ...(row.named_in_source ? { namedInSource: row.named_in_source } : {}),
    ...sourceWrites(row, schema, names, functions),
  };
}

async function readFunctions(client: pg.ClientBase, schemas: readonly string[]): Promise<Sources> {
  const { rows } = await client.query<{ schema: string; name: string; source: string }>(
    FUNCTIONS_SQL,
    [schemas],
  );
  const sources = new Map<string, string>();
  for (const r of rows) {
    const key = `${r.schema}.${r.name}`;
    const before = sources.get(key);
    sources.set(key, before === undefined ? r.source : `${before}\n;\n${r.source}`);
  }
  return sources;
}

/**
 * The user triggers that can fire on loading each named table of `schema`, by table name. A
 * trigger cloned onto many partitions is listed once, under the table it was declared on.
 */
export async function readTriggers(
  client: pg.ClientBase,
  schema: string,
  names: readonly string[],
): Promise<Map<string, TriggerInfo[]>> {
  const { rows } = await client.query<TriggerRow>(TRIGGERS_SQL, [schema, names]);
  const functions = await readFunctions(client, [
    ...new Set([schema, ...rows.map((r) => r.function_schema)]),
  ]);
  const byTable = new Map<string, Map<string, TriggerInfo>>();
  for (const row of rows) {
    const triggers = byTable.get(row.table_name) ?? new Map<string, TriggerInfo>();
    const trigger = toTrigger(row, schema, names, functions);
    triggers.set(JSON.stringify(trigger), trigger);
    byTable.set(row.table_name, triggers);
  }
  return new Map([...byTable].map(([table, triggers]) => [table, [...triggers.values()]]));
}

/**
 * A trigger function that resolves unqualified names through the session's search_path: one with
 * no search_path of its own, written in a language with names to resolve, and not PostgreSQL's own.
 */
export function dependsOnSessionPath(trigger: TriggerInfo): boolean {
  return (
    !trigger.ownSearchPath &&
    trigger.language !== 'internal' &&
    trigger.language !== 'c' &&
    !trigger.function.startsWith('pg_catalog.')
  );
}
