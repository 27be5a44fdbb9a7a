import type { Mode, Strategy } from '../config/types.js';
import type { TableInfo, TriggerEvent, TriggerInfo } from '../db/catalog.js';
import { dependsOnSessionPath } from '../db/triggers.js';
import { triggerWrites } from './trigger-writes.js';

/** The statements a load runs on the target table, by mode. */
const LOAD_EVENTS: Readonly<Record<Mode, readonly TriggerEvent[]>> = {
  append: ['INSERT'],
  truncate: ['INSERT', 'TRUNCATE'],
  upsert: ['INSERT', 'UPDATE'],
  'insert-new': ['INSERT'],
};

/** tgenabled values that fire in a normal session, and as a replica (session_replication_role). */
const FIRES_NORMALLY = new Set(['O', 'A']);
const FIRES_AS_REPLICA = new Set(['R', 'A']);

export interface TriggerRulesInput {
  readonly target: TableInfo;
  readonly mode: Mode;
  /** The config asks to load with user triggers off. */
  readonly disableTriggers: boolean;
  /** Whether the role may set session_replication_role; undefined when unknown. */
  readonly mayDisableTriggers: boolean | undefined;
  /** fdw-push: the target's triggers run in postgres_fdw's session, not pgcopy's. */
  readonly strategy?: Strategy;
}

export interface TriggerRules {
  readonly triggers: TriggerInfo[];
  readonly warnings: string[];
  readonly notes: string[];
  readonly errors: string[];
}

function describe(trigger: TriggerInfo, table: string): string {
  const where = trigger.table === table ? '' : ` on partition "${trigger.table}"`;
  return `"${trigger.name}" ${trigger.timing} ${trigger.events.join(' OR ')} FOR EACH ${trigger.level}${where}`;
}

/**
 * COPY FROM and INSERT fire the target's row and statement triggers, which may rewrite the copied
 * values (a full-text column, an updated_at stamp) while the run says done: list them. With
 * disableTriggers the load runs as a replica, where only ENABLE ALWAYS / ENABLE REPLICA triggers
 * fire and foreign-key checks are skipped too (the load order is kept all the same).
 */
export function planTriggers(input: TriggerRulesInput): TriggerRules {
  const rules = firingTriggers(input);
  const about = aboutFiring(rules.triggers, input.strategy);
  const writes = triggerWrites(rules.triggers, input.target.name);
  return {
    ...rules,
    warnings: [...rules.warnings, ...about.warnings, ...writes.warnings],
    notes: [...about.notes, ...writes.notes],
  };
}

function functionOf(trigger: TriggerInfo): string {
  return `${trigger.function}() (trigger "${trigger.name}")`;
}

/**
 * A trigger function without its own search_path resolves unqualified names through the session's:
 * pgcopy's loads run under the target session's configured one (see db/search-path.ts), except in
 * fdw-push, where the target's session is postgres_fdw's and its search_path is pg_catalog only.
 */
function aboutFiring(
  triggers: readonly TriggerInfo[],
  strategy: Strategy | undefined,
): { warnings: string[]; notes: string[] } {
  const sessionPath = triggers.filter(dependsOnSessionPath);
  if (sessionPath.length === 0) return { warnings: [], notes: [] };
  const functions = [...new Set(sessionPath.map(functionOf))].join(', ');
  if (strategy === 'fdw-push') {
    return {
      warnings: [
        `fdw-push: trigger functions without a search_path of their own run in postgres_fdw's session on the target, whose search_path is pg_catalog only: an unqualified name in ${functions} fails there (use stream, dblink or fdw, or give the function its own search_path)`,
      ],
      notes: [],
    };
  }
  return {
    warnings: [],
    notes: [
      `trigger functions without a search_path of their own resolve unqualified names through the session's; pgcopy runs the load under the search_path the target's role or database configures: ${functions}`,
    ],
  };
}

function firingTriggers(input: TriggerRulesInput): Omit<TriggerRules, 'notes'> {
  const { target, mode } = input;
  const events = LOAD_EVENTS[mode];
  const relevant = target.triggers.filter((t) => t.events.some((e) => events.includes(e)));
  const list = (triggers: readonly TriggerInfo[]): string =>
    triggers.map((t) => describe(t, target.name)).join(', ');
  const normally = relevant.filter((t) => FIRES_NORMALLY.has(t.enabled));
  if (!input.disableTriggers) {
    const warnings =
      normally.length === 0
        ? []
        : [
            `triggers fire on the copied rows and may change them: ${list(normally)}; disableTriggers loads without them`,
          ];
    return { triggers: normally, warnings, errors: [] };
  }
  if (input.mayDisableTriggers === false) {
    return {
      triggers: normally,
      warnings: [],
      errors: [
        'disableTriggers: the role may not set session_replication_role (it needs to be superuser or, on PostgreSQL 15+, to be granted SET ON PARAMETER session_replication_role)',
      ],
    };
  }
  const asReplica = relevant.filter((t) => FIRES_AS_REPLICA.has(t.enabled));
  const skipped = [
    ...(normally.length > 0 ? [`triggers ${list(normally)} do not fire`] : []),
    ...(target.references.length > 0 ? ['foreign keys are not checked (load order kept)'] : []),
  ];
  const warnings = [
    ...(skipped.length > 0
      ? [`disableTriggers: loaded as a replica, so ${skipped.join(' and ')}`]
      : []),
    ...(asReplica.length > 0
      ? [`triggers enabled ALWAYS or REPLICA fire even so: ${list(asReplica)}`]
      : []),
  ];
  return { triggers: asReplica, warnings, errors: [] };
}
