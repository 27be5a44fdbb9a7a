import type pg from 'pg';
import { qualifiedName, quoteIdent } from '../db/quote.js';
import type { SyncNames } from './names.js';

/** A source table `pgcopy sync` follows, and whether only its inserts (and truncates) are. */
export interface PublishedTable {
  readonly schema: string;
  readonly table: string;
  readonly insertOnly: boolean;
}

/** What ensurePublications changed, for the report. */
export interface PublicationChanges {
  readonly created: readonly string[];
  readonly added: readonly string[];
  readonly removed: readonly string[];
}

const key = (schema: string, table: string): string => `${schema}\u0000${table}`;
const shown = (schema: string, table: string): string => `${schema}.${table}`;

/** The publication's tables by `schema.table`, or null when it does not exist. */
async function members(
  client: pg.ClientBase,
  publication: string,
): Promise<Map<string, readonly [string, string]> | null> {
  const { rows: found } = await client.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [
    publication,
  ]);
  if (found.length === 0) return null;
  const { rows } = await client.query<{ schemaname: string; tablename: string }>(
    'SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = $1',
    [publication],
  );
  return new Map(
    rows.map((r) => [key(r.schemaname, r.tablename), [r.schemaname, r.tablename]] as const),
  );
}

/**
 * Both publications exist, made before the slot (a slot decodes with the publications its WAL
 * saw), and hold exactly the followed tables: a table added to the config is added, one taken
 * out of it is removed. The insert-only one publishes inserts and truncates only, so that a table
 * without a key or replica identity keeps taking the source's UPDATE and DELETE.
 */
export async function ensurePublications(
  client: pg.ClientBase,
  names: SyncNames,
  tables: readonly PublishedTable[],
): Promise<PublicationChanges> {
  const created: string[] = [];
  const added: string[] = [];
  const removed: string[] = [];
  const specs = [
    { name: names.publication, insertOnly: false, publish: 'insert, update, delete, truncate' },
    { name: names.insertOnlyPublication, insertOnly: true, publish: 'insert, truncate' },
  ];
  for (const spec of specs) {
    let current = await members(client, spec.name);
    if (current === null) {
      await client.query(
        `CREATE PUBLICATION ${quoteIdent(spec.name)} WITH (publish = '${spec.publish}')`,
      );
      created.push(spec.name);
      current = new Map();
    }
    const wanted = tables.filter((t) => t.insertOnly === spec.insertOnly);
    const wantedKeys = new Set(wanted.map((t) => key(t.schema, t.table)));
    // Removals first: a table moving between the two publications is never in both.
    for (const [schema, table] of current.values()) {
      if (wantedKeys.has(key(schema, table))) continue;
      await client.query(
        `ALTER PUBLICATION ${quoteIdent(spec.name)} DROP TABLE ${qualifiedName(schema, table)}`,
      );
      removed.push(`${spec.name}: ${shown(schema, table)}`);
    }
    for (const t of wanted) {
      if (current.has(key(t.schema, t.table))) continue;
      await client.query(
        `ALTER PUBLICATION ${quoteIdent(spec.name)} ADD TABLE ${qualifiedName(t.schema, t.table)}`,
      );
      added.push(`${spec.name}: ${shown(t.schema, t.table)}`);
    }
  }
  return { created, added, removed };
}

/** Drops both publications; returns those that existed. */
export async function dropPublications(client: pg.ClientBase, names: SyncNames): Promise<string[]> {
  const dropped: string[] = [];
  for (const name of [names.publication, names.insertOnlyPublication]) {
    const { rows } = await client.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [name]);
    if (rows.length === 0) continue;
    await client.query(`DROP PUBLICATION IF EXISTS ${quoteIdent(name)}`);
    dropped.push(name);
  }
  return dropped;
}
