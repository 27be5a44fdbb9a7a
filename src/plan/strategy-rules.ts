import type { Strategy } from '../config/types.js';
import type { ExtensionState, TableInfo } from '../db/catalog.js';

/** An extension a table's strategy needs, on the side whose server runs it. */
export interface ExtensionNeed {
  readonly side: 'source' | 'target';
  readonly extension: 'dblink' | 'postgres_fdw';
}

const NEEDS: Readonly<Record<Strategy, ExtensionNeed | undefined>> = {
  stream: undefined,
  dblink: { side: 'target', extension: 'dblink' },
  fdw: { side: 'target', extension: 'postgres_fdw' },
  'fdw-push': { side: 'source', extension: 'postgres_fdw' },
};

/** postgres_fdw sends TRUNCATE on to the remote table from PostgreSQL 14 (fdw-push: the source's). */
const FOREIGN_TRUNCATE_VERSION = 140_000;

export function extensionNeed(strategy: Strategy): ExtensionNeed | undefined {
  return NEEDS[strategy];
}

export interface StrategyInput {
  readonly strategy: Strategy;
  readonly targetName: string;
  readonly mode: string;
  readonly where: string | undefined;
  readonly source: TableInfo;
  readonly columns: readonly string[];
  readonly identityAlways: readonly string[];
  readonly disableTriggers: boolean;
  readonly extensions: { readonly source: ExtensionState; readonly target: ExtensionState };
  readonly createExtensions: boolean;
  /** server_version_num of the source (undefined: not known, nothing refused on it). */
  readonly sourceVersion?: number | undefined;
}

export interface StrategyRules {
  readonly errors: string[];
  readonly notes: string[];
  /** The extension the run creates before copying (options.createExtensions). */
  readonly createsExtension: ExtensionNeed | undefined;
}

function extensionRule(
  input: StrategyInput,
  need: ExtensionNeed,
  rules: StrategyRules,
): ExtensionNeed | undefined {
  const state = input.extensions[need.side];
  const where = need.side === 'source' ? 'the source' : `target "${input.targetName}"`;
  if (state === 'installed') return undefined;
  if (state === 'missing') {
    rules.errors.push(
      `strategy ${input.strategy}: the ${need.extension} extension is not available on ${where} (its server lacks PostgreSQL's contrib modules)`,
    );
    return undefined;
  }
  if (input.createExtensions) {
    rules.notes.push(`creates the ${need.extension} extension on ${where} before copying`);
    return need;
  }
  rules.errors.push(
    `strategy ${input.strategy}: the ${need.extension} extension is not installed on ${where}: a superuser runs "CREATE EXTENSION ${need.extension};" there, or set options.createExtensions: true`,
  );
  return undefined;
}

/**
 * What a server-side strategy needs and cannot do: its extension, and the write modes, filters and
 * tables it cannot copy faithfully. Stream needs nothing.
 */
export function strategyRules(input: StrategyInput): StrategyRules {
  const rules: StrategyRules = { errors: [], notes: [], createsExtension: undefined };
  const { strategy } = input;
  if (strategy === 'stream') return rules;
  const fail = (why: string): void => {
    rules.errors.push(`strategy ${strategy}: ${why}`);
  };
  if (input.columns.length === 0) fail('a table without columns is copied by stream only');
  if (strategy === 'fdw') {
    rules.notes.push(
      "fdw: postgres_fdw reads this table in a transaction of its own, at its own instant, not in the run's snapshot",
    );
    if (input.where !== undefined) {
      fail('a where filter would run on the target, not the source; use dblink or stream');
    }
    if (input.source.inheritanceChildren.length > 0) {
      fail(
        "postgres_fdw reads an inheritance parent with its children's rows; use dblink or stream",
      );
    }
  }
  if (strategy === 'fdw-push') {
    if (input.mode === 'upsert')
      fail('postgres_fdw cannot INSERT ... ON CONFLICT DO UPDATE; use append or truncate');
    if (input.mode === 'insert-new') {
      fail(
        'postgres_fdw cannot INSERT ... ON CONFLICT (key) DO NOTHING (it sends no conflict key, nor says which rows were new); use stream, dblink or fdw',
      );
    }
    const version = input.sourceVersion;
    if (input.mode === 'truncate' && version !== undefined && version < FOREIGN_TRUNCATE_VERSION) {
      fail(
        `postgres_fdw TRUNCATEs a foreign table from PostgreSQL 14 on, and the source is ${Math.floor(version / 10000)}; use stream, dblink or fdw, or append into an emptied table`,
      );
    }
    if (input.identityAlways.length > 0) {
      fail(
        'a GENERATED ALWAYS identity column cannot be written through postgres_fdw (no OVERRIDING SYSTEM VALUE)',
      );
    }
    if (input.disableTriggers)
      fail(
        "disableTriggers applies to pgcopy's own target session, which fdw-push does not write through",
      );
  }
  const need = extensionNeed(strategy);
  const creates = need ? extensionRule(input, need, rules) : undefined;
  return { ...rules, createsExtension: creates };
}
