import type { Connector } from '../db/connector.js';
import type { Connectors } from '../db/connectors.js';
import { quoteIdent } from '../db/quote.js';
import { describeError } from '../errors.js';
import type { TablePlan } from '../plan/types.js';
import type { TableError } from '../report/events.js';

/**
 * options.createExtensions: creates each extension the plan found missing, once per server,
 * before any table copies; in `public` when that schema exists, else in the endpoint's own schema.
 * Returns the error of each table whose extension could not be created.
 */
export async function createMissingExtensions(
  tables: readonly TablePlan[],
  connectors: Connectors,
  options: { signal?: AbortSignal } = {},
): Promise<Map<TablePlan, TableError>> {
  const failures = new Map<TablePlan, TableError>();
  const done = new Map<string, string | undefined>();
  for (const table of tables) {
    const need = table.createsExtension;
    if (!need) continue;
    const connector =
      need.side === 'source' ? connectors.source : connectors.target(table.targetName);
    const schema = need.side === 'source' ? table.sourceSchema : table.targetSchema;
    const key = `${connector.spec.name}\0${need.extension}`;
    if (!done.has(key)) done.set(key, await create(connector, need.extension, schema, options));
    const failure = done.get(key);
    if (failure !== undefined) {
      failures.set(table, {
        code: 'EXTENSION',
        message: `cannot create the ${need.extension} extension on ${connector.spec.name}: ${failure}`,
      });
    }
  }
  return failures;
}

async function create(
  connector: Connector,
  extension: string,
  fallbackSchema: string,
  options: { signal?: AbortSignal },
): Promise<string | undefined> {
  try {
    const client = await connector.connect(options);
    try {
      const schema = await client.query<{ name: string }>(
        `SELECT coalesce((SELECT nspname FROM pg_catalog.pg_namespace WHERE nspname = 'public'), $1) AS name`,
        [fallbackSchema],
      );
      const into = schema.rows[0]?.name ?? fallbackSchema;
      await client.query(
        `CREATE EXTENSION IF NOT EXISTS ${quoteIdent(extension)} SCHEMA ${quoteIdent(into)}`,
      );
      return undefined;
    } finally {
      await client.end();
    }
  } catch (error) {
    return describeError(error);
  }
}
