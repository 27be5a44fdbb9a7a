import type pg from 'pg';
import type { Config, Strategy, TableSpec, TargetConfig } from '../config/types.js';
import { readSchemaCatalog, type SchemaCatalog } from '../db/catalog.js';
import type { Connectors } from '../db/connectors.js';
import { qualifiedName } from '../db/quote.js';
import { describeError } from '../errors.js';
import { readOnlyReason, readRowSecurity, type RowSecurity } from '../db/run-blockers.js';
import { buildTablePlan } from './build-table-plan.js';
import { applyEndpointFacts, type EndpointFacts } from './endpoint-rules.js';
import { withLoadOrder } from './load-order.js';
import { selectTables, type PlanFilters } from './select-tables.js';
import type { Plan, TablePlan, TargetPlan } from './types.js';

/**
 * Checks each `where` filter by EXPLAINing it on the source, read-only: a typo is a plan error,
 * not a failure halfway through a run. The filter is SQL written by the operator, used as given.
 */
async function checkWhereFilters(
  client: pg.ClientBase,
  schema: string,
  filters: ReadonlyMap<string, string>,
): Promise<Map<string, string>> {
  const errors = new Map<string, string>();
  for (const [key, where] of filters) {
    const [table] = key.split('\0');
    try {
      await client.query('BEGIN READ ONLY');
      await client.query(
        `EXPLAIN SELECT 1 FROM ${qualifiedName(schema, table ?? '')} WHERE (${where}\n)`,
      );
    } catch (error) {
      errors.set(key, describeError(error));
    } finally {
      await client.query('ROLLBACK');
    }
  }
  return errors;
}

/** Strategies the engine runs today; the server-side ones are accepted by the config but refused here. */
const AVAILABLE_STRATEGIES: ReadonlySet<Strategy> = new Set(['stream']);

function refuseUnavailableStrategy(table: TablePlan, strategy: Strategy): TablePlan {
  if (AVAILABLE_STRATEGIES.has(strategy)) return table;
  const error = `options.strategy: "${strategy}" is not available yet; use "stream"`;
  return { ...table, errors: [...table.errors, error] };
}

async function readTargetCatalog(
  connectors: Connectors,
  target: TargetConfig,
  tables: readonly TableSpec[],
  options: { signal?: AbortSignal },
): Promise<{ catalog: SchemaCatalog } & Omit<EndpointFacts, 'sourceRowSecurity'>> {
  const client = await connectors.target(target.name).connect(options);
  try {
    const names = tables.map((s) => s.target);
    return {
      catalog: await readSchemaCatalog(client, target.schema, names),
      targetRowSecurity: await readRowSecurity(client, target.schema, names),
      targetReadOnly: await readOnlyReason(client),
    };
  } finally {
    await client.end();
  }
}

/** Reads both catalogs and applies the plan rules to every selected (target, table) pair. */
export async function makePlan(
  config: Config,
  connectors: Connectors,
  filters: PlanFilters = {},
  options: { signal?: AbortSignal } = {},
): Promise<Plan> {
  const selected = selectTables(config, filters);
  const sourceSchema = config.source.schema;
  const sourceNames = selected.flatMap((t) => t.tables.map((s) => s.source));
  const whereFilters = new Map<string, string>();
  for (const t of selected) {
    for (const s of t.tables)
      if (s.where !== undefined) whereFilters.set(`${s.source}\0${s.where}`, s.where);
  }

  const sourceClient = await connectors.source.connect(options);
  let sourceCatalog: SchemaCatalog;
  let whereErrors: Map<string, string>;
  let sourceRowSecurity: Map<string, RowSecurity>;
  try {
    sourceCatalog = await readSchemaCatalog(sourceClient, sourceSchema, sourceNames);
    sourceRowSecurity = await readRowSecurity(sourceClient, sourceSchema, sourceNames);
    whereErrors = await checkWhereFilters(sourceClient, sourceSchema, whereFilters);
  } finally {
    await sourceClient.end();
  }

  const targets = await Promise.all(
    selected.map(async ({ config: target, tables }): Promise<TargetPlan> => {
      // An unreachable target fails its own tables only; the other targets still plan and copy.
      let catalog: SchemaCatalog | undefined;
      let targetError: string | undefined;
      let facts: EndpointFacts = {
        sourceRowSecurity,
        targetRowSecurity: new Map(),
        targetReadOnly: undefined,
      };
      try {
        const read = await readTargetCatalog(connectors, target, tables, options);
        catalog = read.catalog;
        facts = {
          ...facts,
          targetRowSecurity: read.targetRowSecurity,
          targetReadOnly: read.targetReadOnly,
        };
      } catch (error) {
        options.signal?.throwIfAborted();
        targetError = describeError(error);
      }
      return {
        name: target.name,
        schema: target.schema,
        tables: withLoadOrder(
          tables.map((spec) =>
            buildTablePlan({
              targetName: target.name,
              sourceSchema,
              targetSchema: target.schema,
              spec,
              mode: spec.mode ?? filters.mode ?? config.options.mode,
              source: sourceCatalog.tables.get(spec.source),
              target: catalog?.tables.get(spec.target),
              targetError,
              missingSchemas: {
                source: !sourceCatalog.schemaExists,
                target: catalog?.schemaExists === false,
              },
              whereError:
                spec.where === undefined
                  ? undefined
                  : whereErrors.get(`${spec.source}\0${spec.where}`),
            }),
          ),
          (t) => catalog?.tables.get(t.targetTable)?.references ?? [],
        )
          .map((t) => refuseUnavailableStrategy(t, config.options.strategy))
          .map((t) =>
            applyEndpointFacts(
              t,
              tables.find((s) => s.target === t.targetTable),
              facts,
            ),
          ),
      };
    }),
  );
  return { sourceSchema, targets };
}
