import type pg from 'pg';
import { explainError } from './explain-on-source.js';
import type {
  Config,
  Mode,
  SplitConfig,
  Strategy,
  TableSpec,
  TargetConfig,
} from '../config/types.js';
import {
  readSchemaCatalog,
  type ExtensionState,
  type SchemaCatalog,
  type TableRef,
} from '../db/catalog.js';
import type { Connector } from '../db/connector.js';
import type { Connectors } from '../db/connectors.js';
import { relationSql, SESSION_SETTINGS_SQL, whereClause } from '../copy/sql.js';
import { mayDisableTriggers } from '../db/may-disable-triggers.js';
import { describeError } from '../errors.js';
import { readOnlyReason, readRowSecurity, type RowSecurity } from '../db/run-blockers.js';
import { buildTablePlan } from './build-table-plan.js';
import { probeConversions, SourceSampler } from './probe-conversions.js';
import { extensionNeed } from './strategy-rules.js';
import { applyEndpointFacts, type EndpointFacts } from './endpoint-rules.js';
import { withLoadOrder } from './load-order.js';
import { withOrphanRules, withRefusedParents } from './orphan-rules.js';
import { withCycleGroups, withTruncateGroups } from './truncate-groups.js';
import { withTriggerWriteRefusals } from './trigger-write-rules.js';
import { applySplitRules, splitSettingOf } from './split-rules.js';
import { integerKeyOf } from './split-key.js';
import { partsMayWait, readConflictIndexes, type ConflictIndex } from './split-conflicts.js';
import { selectTables, type PlanFilters } from './select-tables.js';
import { expandTablePatterns } from './expand-patterns.js';
import { applySyncRules, readReplicaIdentities } from './sync-rules.js';
import type { Plan, TablePlan } from './types.js';
import { planReadOnce } from './read-once.js';
import { withAcknowledged } from './acknowledge.js';
import { withLinkCertificateRule } from './link-rules.js';
import { refuseSharedTargetTables, type PlacedTarget } from './duplicate-targets.js';
import { readTableIndexes, type TableIndexes } from '../db/target-indexes.js';
import { applyIndexRules, needsIndexes, rebuildIndexesOf } from './index-rules.js';
import { readPreparedLocks, type PreparedLocks } from '../db/prepared-locks.js';
import { timeoutsOf } from '../config/timeouts.js';
import { withPreparedLocks } from './prepared-rules.js';
import { checkRuleExpressions, ruleErrorsOf, ruleLevelsOf } from './rule-expressions.js';
import { hasDataRules } from '../masking/rule-match.js';

/**
 * Checks each `where` filter by EXPLAINing it on the source: a typo is a plan error, not a failure
 * halfway through a run. The config has already refused a filter that is not one expression; the
 * extended protocol refuses several statements as well, and the transaction is read-only.
 */
async function checkWhereFilters(
  client: pg.ClientBase,
  catalog: SchemaCatalog,
  filters: ReadonlyMap<string, string>,
): Promise<Map<string, string>> {
  const errors = new Map<string, string>();
  for (const [key, where] of filters) {
    const [name = ''] = key.split('\0');
    const table = catalog.tables.get(name);
    if (!table) continue;
    const error = await explainError(
      client,
      `SELECT 1 FROM ${relationSql(catalog.schema, name, table.kind)}${whereClause(where)}`,
    );
    if (error !== undefined) errors.set(key, error);
  }
  return errors;
}

/** The state of the extension a strategy needs, on each side (stream needs none). */
function extensionStates(
  strategy: Strategy,
  source: SchemaCatalog,
  target: SchemaCatalog | undefined,
): { source: ExtensionState; target: ExtensionState } {
  const need = extensionNeed(strategy);
  if (!need) return { source: 'installed', target: 'installed' };
  return {
    source: source.extensions[need.extension],
    target: target?.extensions[need.extension] ?? 'missing',
  };
}

/** Reads both catalogs and applies the plan rules to every selected (target, table) pair. */
export async function makePlan(
  config: Config,
  connectors: Connectors,
  filters: PlanFilters = {},
  options: {
    signal?: AbortSignal;
    /** Plan for `pgcopy sync` (also when the config has options.sync): replica identities checked. */
    sync?: boolean;
  } = {},
): Promise<Plan> {
  const expanded = await expandTablePatterns(config, connectors, options);
  const selected = selectTables(expanded.config, filters);
  const sourceSchema = config.source.schema;
  const sourceNames = selected.flatMap((t) => t.tables.map((s) => s.source));
  const whereFilters = new Map<string, string>();
  for (const t of selected) {
    for (const s of t.tables)
      if (s.where !== undefined) whereFilters.set(`${s.source}\0${s.where}`, s.where);
  }

  // Each target's catalog is read while the source's is: neither waits for the other.
  const reads = selected.map(({ config: target, tables }) =>
    readTarget(config, connectors, target, tables, options),
  );
  // A read the abort ends rejects before it is awaited: not an unhandled rejection.
  for (const read of reads) void read.catch(() => undefined);
  // Sampled values must have the text form the copy will send.
  let planned = false;
  const sourceClient = await connectors.source
    .connect({ ...options, settings: SESSION_SETTINGS_SQL })
    .catch(async (error: unknown) => {
      await settleTargetClients(reads);
      throw error;
    });
  try {
    connectors.step(
      `source: reading the catalogs of ${String(new Set(sourceNames).size)} table(s)`,
    );
    const sourceCatalog = await readSchemaCatalog(sourceClient, sourceSchema, sourceNames);
    const sourceRowSecurity = await readRowSecurity(sourceClient, sourceSchema, sourceNames);
    const whereErrors = await checkWhereFilters(sourceClient, sourceCatalog, whereFilters);
    const ruleErrors = await checkRuleExpressions(
      sourceClient,
      expanded.config,
      selected,
      sourceCatalog,
    );
    const sampler = new SourceSampler(sourceClient, sourceSchema);
    const { sync: forSync, ...targetOptions } = options;
    const placed = await Promise.all(
      selected.map(async ({ config: target, tables }, i) =>
        planTarget(config, connectors, target, tables, await readOf(reads, i), {
          mode: filters.mode,
          allowTruncate: filters.allowTruncate ?? [],
          sourceCatalog,
          sourceRowSecurity,
          whereErrors,
          ruleErrors,
          redactValues: config.options.redactValues || hasDataRules(expanded.config),
          sampler,
          ...targetOptions,
        }),
      ),
    );
    // Only now are all targets' databases known: two of them may be one.
    const shared = refuseSharedTargetTables(placed);
    const targets =
      forSync === true || config.options.sync !== undefined
        ? applySyncRules(
            shared,
            await readReplicaIdentities(sourceClient, sourceSchema, sourceNames),
            config.options.sync?.insertOnly ?? [],
          )
        : shared;
    const plan = {
      sourceSchema,
      targets,
      ...(expanded.matches.length > 0 ? { patterns: expanded.matches } : {}),
      readOnce: planReadOnce(targets, config.options.readOnce),
    };
    planned = true;
    return plan;
  } finally {
    // A plan made hands its connections to what follows it (a run's first worker); a failed
    // one ends them.
    const owners = planned
      ? selected.map(({ config: target }) => connectors.target(target.name))
      : undefined;
    await Promise.all([
      planned ? connectors.source.release(sourceClient, SESSION_SETTINGS_SQL) : sourceClient.end(),
      settleTargetClients(reads, owners),
    ]);
  }
}

function readOf(reads: readonly Promise<TargetFacts>[], i: number): Promise<TargetFacts> {
  const read = reads[i];
  if (!read) throw new Error(`no catalog read for target ${i}`);
  return read;
}

/**
 * The clients the targets' reads opened (a read that was aborted opened none): handed back to
 * their connectors (`owners`, in the reads' order) for the run's first worker, or ended.
 */
async function settleTargetClients(
  reads: readonly Promise<TargetFacts>[],
  owners?: readonly Connector[],
): Promise<void> {
  await Promise.all(
    reads.map(async (read, i) => {
      const client = (await read.catch(() => undefined))?.client;
      const owner = owners?.[i];
      if (client) await (owner ? owner.release(client, SESSION_SETTINGS_SQL) : client.end());
    }),
  );
}

interface TargetPlanContext {
  readonly mode: Mode | undefined;
  readonly allowTruncate: readonly string[];
  readonly sourceCatalog: SchemaCatalog;
  readonly sourceRowSecurity: ReadonlyMap<string, RowSecurity>;
  readonly whereErrors: ReadonlyMap<string, string>;
  /** Data rule expressions the source refused, by `table\0sql`. */
  readonly ruleErrors: ReadonlyMap<string, string>;
  readonly redactValues: boolean;
  readonly sampler: SourceSampler;
  readonly signal?: AbortSignal;
}

async function maxPreparedTransactions(client: pg.ClientBase): Promise<number> {
  const result = await client.query<{ n: number }>(
    `SELECT current_setting('max_prepared_transactions')::int AS n`,
  );
  return result.rows[0]?.n ?? 0;
}

/** What the plan reads on one target, with the client it read it through (open, or none). */
interface TargetFacts {
  readonly client: pg.Client | undefined;
  readonly catalog: SchemaCatalog | undefined;
  readonly mayDisable: boolean | undefined;
  readonly maxPrepared: number | undefined;
  readonly conflicts: Map<string, ConflictIndex[]> | undefined;
  readonly prepared: PreparedLocks[];
  readonly rowSecurity: ReadonlyMap<string, RowSecurity>;
  readonly readOnly: string | undefined;
  /** Why the target could not be read: its tables fail, the others' do not. */
  readonly error: string | undefined;
}

/**
 * Connects to one target and reads what its plan needs; the client stays open (the plan probes
 * conversions through it) for makePlan to end. Rejects only when the run is aborted.
 */
async function readTarget(
  config: Config,
  connectors: Connectors,
  target: TargetConfig,
  tables: readonly TableSpec[],
  options: { signal?: AbortSignal },
): Promise<TargetFacts> {
  let client: pg.Client | undefined;
  let catalog: SchemaCatalog | undefined;
  let mayDisable: boolean | undefined;
  let maxPrepared: number | undefined;
  let conflicts: Map<string, ConflictIndex[]> | undefined;
  let prepared: PreparedLocks[] = [];
  let rowSecurity: ReadonlyMap<string, RowSecurity> = new Map();
  let readOnly: string | undefined;
  let error: string | undefined;
  try {
    // With the copy's session settings: conversions are probed as the copy will send values,
    // and the connection can go on to the run's first worker.
    client = await connectors.target(target.name).connect({
      ...(options.signal ? { signal: options.signal } : {}),
      settings: SESSION_SETTINGS_SQL,
    });
    catalog = await readSchemaCatalog(
      client,
      target.schema,
      tables.map((s) => s.target),
    );
    mayDisable = await mayDisableTriggers(client);
    const names = tables.map((s) => s.target);
    const splitOf = (spec: TableSpec): SplitConfig | undefined =>
      splitSettingOf(spec.split, target.split, config.options.split);
    // Asked only when a table may be split: its parts commit together through prepared
    // transactions, and must never wait on each other's rows.
    if (tables.some(splitOf)) {
      maxPrepared = await maxPreparedTransactions(client);
      conflicts = await readConflictIndexes(client, target.schema, names, catalog.serverVersion);
    }
    const security = await readRowSecurity(client, target.schema, names);
    readOnly = await readOnlyReason(client);
    rowSecurity = security;
    prepared = await readPreparedLocks(client, target.schema, names);
  } catch (thrown) {
    options.signal?.throwIfAborted();
    error = describeError(thrown);
  }
  return {
    client,
    catalog,
    mayDisable,
    maxPrepared,
    conflicts,
    prepared,
    rowSecurity,
    readOnly,
    error,
  };
}

/** Plans one target's tables from what was read on it and on the source, with the database it reached. */
async function planTarget(
  config: Config,
  connectors: Connectors,
  target: TargetConfig,
  tables: readonly TableSpec[],
  read: TargetFacts,
  context: TargetPlanContext,
): Promise<PlacedTarget> {
  const { sourceCatalog } = context;
  const { client, catalog, mayDisable, maxPrepared, conflicts, prepared } = read;
  const targetError = read.error;
  const facts: EndpointFacts = {
    sourceRowSecurity: context.sourceRowSecurity,
    targetRowSecurity: read.rowSecurity,
    targetReadOnly: read.readOnly,
  };
  const configuredSources = new Set(tables.map((s) => s.source));
  const strategyOf = (spec: TableSpec): Strategy =>
    spec.strategy ?? target.strategy ?? config.options.strategy;
  const planned = withLoadOrder(
    tables.map((spec) =>
      buildTablePlan({
        targetName: target.name,
        sourceSchema: config.source.schema,
        targetSchema: target.schema,
        spec,
        mode: spec.mode ?? context.mode ?? config.options.mode,
        ...modeOverrideNote(spec.mode, context.mode),
        source: sourceCatalog.tables.get(spec.source),
        target: catalog?.tables.get(spec.target),
        targetError,
        missingSchemas: {
          source: !sourceCatalog.schemaExists,
          target: catalog?.schemaExists === false,
        },
        sameDatabase: catalog?.databaseIdentity === sourceCatalog.databaseIdentity,
        truncateRefused: target.protected === true && !context.allowTruncate.includes(target.name),
        configuredSources,
        strategy: strategyOf(spec),
        extensions: extensionStates(strategyOf(spec), sourceCatalog, catalog),
        createExtensions: config.options.createExtensions,
        sourceVersion: sourceCatalog.serverVersion,
        disableTriggers:
          spec.disableTriggers ?? target.disableTriggers ?? config.options.disableTriggers,
        mayDisableTriggers: mayDisable,
        whereError:
          spec.where === undefined
            ? undefined
            : context.whereErrors.get(`${spec.source}\0${spec.where}`),
        dataRules: ruleLevelsOf(config, target, spec),
        ruleErrors: ruleErrorsOf(
          ruleLevelsOf(config, target, spec),
          spec,
          sourceCatalog,
          context.ruleErrors,
        ),
        redactValues: context.redactValues,
      }),
    ),
    (t) => catalog?.tables.get(t.targetTable)?.references ?? [],
  );
  const endpoints = {
    source: connectors.source.spec,
    target: connectors.target(target.name).spec,
  };
  const checked = planned.map((t) =>
    withLinkCertificateRule(
      applyEndpointFacts(
        t,
        tables.find((s) => s.target === t.targetTable),
        facts,
      ),
      endpoints,
    ),
  );
  const split = checked.map((t) => {
    const spec = tables.find((s) => s.target === t.targetTable);
    return applySplitRules(t, {
      setting: splitSettingOf(spec?.split, target.split, config.options.split),
      sourceVersion: sourceCatalog.serverVersion,
      maxPreparedTransactions: maxPrepared,
      concurrency: config.options.concurrency,
      waitRisk: partsMayWait(
        t,
        conflicts?.get(t.targetTable) ?? [],
        sourceCatalog.tables.get(t.sourceTable),
      ),
      integerKey: integerKeyOf(sourceCatalog.tables.get(t.sourceTable)),
    });
  });
  const rebuildOf = (t: TablePlan) =>
    rebuildIndexesOf(
      tables.find((s) => s.target === t.targetTable)?.rebuildIndexes,
      target.rebuildIndexes,
      config.options.rebuildIndexes,
    );
  const asked = split.filter((t) => needsIndexes(t, rebuildOf(t))).map((t) => t.targetTable);
  // Read only for big tables that may have their indexes rebuilt (none: no round trip).
  const indexes: Map<string, TableIndexes> =
    client && asked.length > 0
      ? await readTableIndexes(client, target.schema, asked)
      : new Map<string, TableIndexes>();
  const rebuilt = split.map((t) => applyIndexRules(t, rebuildOf(t), indexes.get(t.targetTable)));
  const probed =
    client && catalog
      ? await probeConversions(rebuilt, {
          sampler: context.sampler,
          sourceTables: sourceCatalog.tables,
          target: client,
          targetTables: catalog.tables,
          targetVersion: catalog.serverVersion,
        })
      : rebuilt;
  const references = (t: TablePlan): readonly TableRef[] =>
    catalog?.tables.get(t.targetTable)?.references ?? [];
  const referencedBy = (t: TablePlan): readonly TableRef[] =>
    catalog?.tables.get(t.targetTable)?.referencedBy ?? [];
  const fk = withForeignKeyRules(withTriggerWriteRefusals(probed), references, referencedBy);
  const { lockTimeoutMs } = timeoutsOf(config, target.name);
  const locked = withPreparedLocks(withOrphanRules(fk.tables), prepared, lockTimeoutMs);
  const acknowledging = (t: TablePlan): TablePlan =>
    withAcknowledged(t, [
      config.options.acknowledge,
      target.acknowledge,
      tables.find((s) => s.target === t.targetTable)?.acknowledge,
    ]);
  return {
    plan: {
      name: target.name,
      schema: target.schema,
      tables: locked.tables.map(acknowledging),
      ...(locked.prepared.length > 0 ? { prepared: locked.prepared } : {}),
      ...(locked.prepared.length > 0 && lockTimeoutMs !== undefined ? { lockTimeoutMs } : {}),
      ...(fk.truncateGroups.length > 0 ? { truncateGroups: fk.truncateGroups } : {}),
      ...(fk.loadGroups.length > 0 ? { loadGroups: fk.loadGroups } : {}),
    },
    database: catalog?.databaseIdentity,
  };
}

/**
 * The rules that spread refusals along the target's foreign keys, to a fixed point: a refused
 * parent refuses its children (withRefusedParents), a table that cannot be truncated refuses the
 * tables it references in its truncate group, and a cycle that cannot load together is refused.
 * Each may refuse what another's group counted on, so the groups are formed again, from the
 * tables as the plan had them, with every refusal found so far, until none is new: no group ever
 * holds a table that will not load.
 */
function withForeignKeyRules(
  tables: readonly TablePlan[],
  references: (t: TablePlan) => readonly TableRef[],
  referencedBy: (t: TablePlan) => readonly TableRef[],
): {
  tables: TablePlan[];
  truncateGroups: ReturnType<typeof withTruncateGroups>['groups'];
  loadGroups: ReturnType<typeof withCycleGroups>['groups'];
} {
  let current = [...tables];
  for (;;) {
    const grouped = withTruncateGroups(withRefusedParents(current, references), referencedBy);
    const cycles = withCycleGroups(grouped.tables, referencedBy);
    const settled = withRefusedParents(cycles.tables, references);
    // Refusals of the last pass alone (the groups' own are formed again each time).
    const unrefused = new Set(
      cycles.tables.filter((t) => t.errors.length === 0).map((t) => t.targetTable),
    );
    const found = new Map(
      settled
        .filter((t) => t.errors.length > 0 && unrefused.has(t.targetTable))
        .map((t) => [t.targetTable, t.errors]),
    );
    if (found.size === 0) {
      return { tables: settled, truncateGroups: grouped.groups, loadGroups: cycles.groups };
    }
    // A refusal found after the groups formed: form them again with it (and the others found).
    current = current.map((t) => {
      const errors = found.get(t.targetTable);
      return errors && t.errors.length === 0 ? { ...t, errors } : t;
    });
  }
}

/**
 * A table's own mode is a deliberate choice and stays under a run-wide override (`--mode`, a Lambda
 * event's `mode`): the plan says so where the two differ.
 */
function modeOverrideNote(
  own: Mode | undefined,
  override: Mode | undefined,
): { notes?: readonly string[] } {
  if (own === undefined || override === undefined || own === override) return {};
  return {
    notes: [
      `mode ${own} is the table's own: the run's mode override (${override}) applies to tables without one`,
    ],
  };
}
