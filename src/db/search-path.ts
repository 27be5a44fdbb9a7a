import type pg from 'pg';
import { quoteLiteral } from './quote.js';

/**
 * pgcopy's own path: names resolve in pg_catalog first and then only in pgcopy's own pg_temp (as
 * pg_dump does), so no user object (a table, function or operator in `public`) can stand in for
 * anything pgcopy's SQL names. Temporary objects are still always written `pg_temp.name`.
 */
export const PGCOPY_SEARCH_PATH = 'pg_catalog, pg_temp';

/**
 * Run once on connecting: reads the search_path the session started with (the role's, the
 * database's or the server's setting, or the connection's `options`), then puts pgcopy's own in
 * its place. The target list is evaluated in order, so `configured` is the value before the change.
 */
export const SEARCH_PATH_SQL = `SELECT pg_catalog.current_setting('search_path') AS configured, pg_catalog.set_config('search_path', '${PGCOPY_SEARCH_PATH}', false)`;

/** The search_path each client started with, before pgcopy replaced it. */
const configuredPaths = new WeakMap<pg.ClientBase, string>();

/**
 * Sets pgcopy's search_path on a new session and remembers the one it replaced. `settings`, the
 * session's other SET statements, travel in the same query string: one round trip, not two.
 */
export async function takeSearchPath(client: pg.ClientBase, settings?: string): Promise<void> {
  const text = settings === undefined ? SEARCH_PATH_SQL : `${SEARCH_PATH_SQL}; ${settings}`;
  // Several statements answer with one result each; the first is the search_path's.
  const answer = (await client.query(text)) as unknown as
    pg.QueryResult<{ configured: string }> | pg.QueryResult<{ configured: string }>[];
  const rows = (Array.isArray(answer) ? answer[0] : answer)?.rows ?? [];
  const configured = rows[0]?.configured;
  if (configured !== undefined) configuredPaths.set(client, configured);
}

/** The search_path the session started with; pgcopy's own for a client pgcopy did not connect. */
export function configuredSearchPath(client: pg.ClientBase): string {
  return configuredPaths.get(client) ?? PGCOPY_SEARCH_PATH;
}

/**
 * `set_config(..., true)` lasts until the transaction ends; the value is a literal (a list of
 * identifiers exactly as SHOW printed it), never pasted into the statement's syntax.
 */
function setLocalSql(path: string): string {
  return `SELECT pg_catalog.set_config('search_path', ${quoteLiteral(path)}, true)`;
}

/** Back to pgcopy's own search_path, for the rest of the transaction. */
export const PGCOPY_PATH_LOCAL_SQL = setLocalSql(PGCOPY_SEARCH_PATH);

/**
 * The statement that switches a transaction to the search_path its session started with: the
 * target's own code (triggers, defaults, check and domain constraints) then resolves names as its
 * owners configured it. Every statement pgcopy sends under it names everything it uses with its
 * schema, operators and casts included.
 */
export function userPathLocalSql(client: pg.ClientBase): string {
  return setLocalSql(configuredSearchPath(client));
}

/**
 * `statements` wrapped to run under the session's configured search_path, then pgcopy's again;
 * as they are when `userCode` is false (the table runs none of the target's own code: two
 * statements fewer).
 */
export function asUserCode(
  client: pg.ClientBase,
  userCode: boolean,
  statements: readonly string[],
): string[] {
  if (statements.length === 0 || !userCode) return [...statements];
  return [userPathLocalSql(client), ...statements, PGCOPY_PATH_LOCAL_SQL];
}

/**
 * Runs `write` (statements that fire the target's own code) under the session's configured
 * search_path, then returns the transaction to pgcopy's: two round trips, spent only where the
 * table runs code of the target's own (`userCode`). When `write` fails the transaction is lost
 * anyway (its ROLLBACK restores the path): the original error is the one reported.
 */
export async function withUserSearchPath<T>(
  client: pg.ClientBase,
  userCode: boolean,
  write: () => Promise<T>,
): Promise<T> {
  if (!userCode) return write();
  await client.query(userPathLocalSql(client));
  let result: T;
  try {
    result = await write();
  } catch (error) {
    await client.query(PGCOPY_PATH_LOCAL_SQL).catch(() => undefined);
    throw error;
  }
  await client.query(PGCOPY_PATH_LOCAL_SQL);
  return result;
}
