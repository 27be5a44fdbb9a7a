import type { Config, Mode, Strategy, TableSpec, TargetConfig } from '../config/types.js';
import { extensionNeed } from '../plan/strategy-rules.js';

/** The privileges a run needs on each endpoint, derived from the config alone. */

export type Privilege = 'SELECT' | 'INSERT' | 'UPDATE' | 'TRUNCATE';

/** What the run will do to one table, and so the privileges it needs there. */
export interface TableNeed {
  readonly table: string;
  readonly privileges: readonly Privilege[];
  /** Source: every table entry reading it says `rowSecurity: apply`. */
  readonly applyRowSecurity?: boolean;
}

/** The tables an endpoint is used for, in its schema. */
export interface EndpointNeeds {
  readonly side: 'source' | 'target';
  readonly schema: string;
  readonly tables: readonly TableNeed[];
  /** upsert stages rows in a temporary table. */
  readonly temporary: boolean;
  /** Targets: sequences owned by the tables' columns are advanced past the copied values. */
  readonly sequences: boolean;
  /** Targets: whether any table loads with triggers off (session_replication_role = replica). */
  readonly disableTriggers?: boolean;
  /** The server-side strategies' extensions this endpoint's server runs. */
  readonly extensions?: readonly ServerExtension[];
  /** options.createExtensions: a missing extension is created by the run, not a problem. */
  readonly createExtensions?: boolean;
}

export type ServerExtension = 'dblink' | 'postgres_fdw';

function strategyOf(config: Config, target: TargetConfig, spec: TableSpec): Strategy {
  return spec.strategy ?? target.strategy ?? config.options.strategy;
}

/** The extensions a set of strategies runs on one side: pulls on the target, the push on the source. */
function extensionsFor(
  strategies: readonly Strategy[],
  side: 'source' | 'target',
): ServerExtension[] {
  const out = new Set<ServerExtension>();
  for (const strategy of strategies) {
    const need = extensionNeed(strategy);
    if (need?.side === side) out.add(need.extension);
  }
  return [...out];
}

const MODE_PRIVILEGES: Readonly<Record<Mode, readonly Privilege[]>> = {
  append: ['INSERT'],
  truncate: ['INSERT', 'TRUNCATE'],
  // INSERT ... ON CONFLICT DO UPDATE from a staging table created from the target's columns.
  upsert: ['SELECT', 'INSERT', 'UPDATE'],
  // INSERT ... ON CONFLICT DO NOTHING: rows already in the target stay as they are.
  'insert-new': ['INSERT'],
};

/** SELECT on each source table any target copies. */
export function sourceNeeds(config: Config): EndpointNeeds {
  const specs = config.targets.flatMap((t) => t.tables);
  const tables = new Set(specs.map((s) => s.source));
  return {
    side: 'source',
    schema: config.source.schema,
    tables: [...tables].map((table) => ({
      table,
      privileges: ['SELECT'],
      applyRowSecurity: specs.every((s) => s.source !== table || s.rowSecurity === 'apply'),
    })),
    temporary: false,
    sequences: false,
    extensions: extensionsFor(
      config.targets.flatMap((t) => t.tables.map((spec) => strategyOf(config, t, spec))),
      'source',
    ),
    createExtensions: config.options.createExtensions,
  };
}

/** What each of the target's tables needs for its mode (its own, else options.mode). */
export function targetNeeds(config: Config, target: TargetConfig): EndpointNeeds {
  const modes = target.tables.map((t) => t.mode ?? config.options.mode);
  return {
    side: 'target',
    schema: target.schema,
    tables: target.tables.map((t) => ({
      table: t.target,
      privileges: MODE_PRIVILEGES[t.mode ?? config.options.mode],
    })),
    temporary: modes.includes('upsert'),
    sequences: true,
    disableTriggers: target.tables.some(
      (t) => t.disableTriggers ?? target.disableTriggers ?? config.options.disableTriggers,
    ),
    extensions: extensionsFor(
      target.tables.map((spec) => strategyOf(config, target, spec)),
      'target',
    ),
    createExtensions: config.options.createExtensions,
  };
}
