import { describeValue, joinPath } from '../config/describe-value.js';
import { tablePatternRegExp } from '../config/table-pattern.js';
import { MODES, type Config, type Mode, type TargetConfig } from '../config/types.js';
import { ConfigError } from '../errors.js';
import type { PlanFilters } from '../plan/select-tables.js';
import { ResumeReport } from '../resume/resume-report.js';
import { checkRunId } from '../run-id.js';

/** What an invocation may say: its own config, and how to narrow the run (as the CLI's flags do). */
export interface PgcopyEvent {
  /** A whole config: YAML or JSON text, or the object itself. */
  readonly config?: unknown;
  readonly targets?: readonly string[];
  readonly tables?: readonly string[];
  readonly mode?: Mode;
  readonly dryRun?: boolean;
  /** The run's id: an invocation repeated with the same one commits each table once. */
  readonly runId?: string;
  /** `items`: plan only, and return the run as items for a fan-out (see plan-items.ts). */
  readonly action?: 'copy' | 'items';
  /** With `action: items`: an item's most estimated bytes (a larger unit is an item alone). */
  readonly budgetBytes?: number;
  /** Verify each table against the source before its COMMIT (as `run --verify`). */
  readonly verify?: boolean;
  /** An earlier run's report, the object itself (as `run --resume FILE` reads it). */
  readonly resume?: unknown;
  /** Ignored: an item's estimate, as the items action gives it. */
  readonly estimatedBytes?: number;
  /** Ignored: an item's number of pairs, as the items action gives it. */
  readonly pairs?: number;
  /** A bounded `pgcopy sync` catch-up (the first sync copies first), stopped before the time limit. */
  readonly sync?: boolean;
}

export interface ParsedEvent {
  /** The event's config (text or object), when it carries one. */
  readonly config: unknown;
  readonly filters: PlanFilters;
  readonly dryRun: boolean;
  readonly runId: string | undefined;
  readonly action: 'copy' | 'items';
  readonly budgetBytes: number | undefined;
  readonly verify: boolean;
  readonly resume: ResumeReport | undefined;
  readonly sync: boolean;
}

const KEYS = [
  'config',
  'targets',
  'tables',
  'mode',
  'dryRun',
  'runId',
  'action',
  'budgetBytes',
  'verify',
  'resume',
  // What an item of the items action carries besides its event keys: said, not used.
  'estimatedBytes',
  'pairs',
  'sync',
];

/** What a sync event may carry besides `sync`: its config (a catch-up covers the whole config). */
const SYNC_KEYS = ['sync', 'config'];

const NO_EVENT: ParsedEvent = {
  config: undefined,
  filters: {},
  dryRun: false,
  runId: undefined,
  action: 'copy',
  budgetBytes: undefined,
  verify: false,
  resume: undefined,
  sync: false,
};

function names(value: unknown, key: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) {
    throw new ConfigError(`${key}: expected a list of names, got ${describeValue(value)}`);
  }
  return value.map((item: unknown, i) => {
    if (typeof item !== 'string' || item === '') {
      throw new ConfigError(`${joinPath(key, i)}: expected a name, got ${describeValue(item)}`);
    }
    return item;
  });
}

/** Validates an invocation's event; every error names the event key and the value received. */
export function parseEvent(event: unknown): ParsedEvent {
  if (event === null || event === undefined) return NO_EVENT;
  if (typeof event !== 'object' || Array.isArray(event)) {
    throw new ConfigError(`event: expected an object, got ${describeValue(event)}`);
  }
  const raw = event as Record<string, unknown>;
  for (const key of Object.keys(raw)) {
    if (!KEYS.includes(key)) {
      throw new ConfigError(`event.${key}: unknown key (expected one of ${KEYS.join(', ')})`);
    }
  }
  const { mode, dryRun, runId, action, budgetBytes, verify, resume, sync } = raw;
  if (sync !== undefined && typeof sync !== 'boolean') {
    throw new ConfigError(`event.sync: expected true or false, got ${describeValue(sync)}`);
  }
  if (sync === true) {
    const other = Object.keys(raw).find((key) => !SYNC_KEYS.includes(key));
    if (other !== undefined) {
      throw new ConfigError(
        `event.${other}: a sync event takes only config (a catch-up follows every table of the config)`,
      );
    }
  }
  if (action !== undefined && action !== 'copy' && action !== 'items') {
    throw new ConfigError(`event.action: expected copy or items, got ${describeValue(action)}`);
  }
  if (
    budgetBytes !== undefined &&
    (typeof budgetBytes !== 'number' || !Number.isSafeInteger(budgetBytes) || budgetBytes <= 0)
  ) {
    throw new ConfigError(
      `event.budgetBytes: expected a positive whole number of bytes, got ${describeValue(budgetBytes)}`,
    );
  }
  if (verify !== undefined && typeof verify !== 'boolean') {
    throw new ConfigError(`event.verify: expected true or false, got ${describeValue(verify)}`);
  }
  if (resume !== undefined && (typeof resume !== 'object' || resume === null)) {
    throw new ConfigError(
      `event.resume: expected a run report (the object a run wrote), got ${describeValue(resume)}`,
    );
  }
  if (mode !== undefined && !MODES.includes(mode as Mode)) {
    throw new ConfigError(
      `event.mode: expected one of ${MODES.join(', ')}, got ${describeValue(mode)}`,
    );
  }
  if (dryRun !== undefined && typeof dryRun !== 'boolean') {
    throw new ConfigError(`event.dryRun: expected true or false, got ${describeValue(dryRun)}`);
  }
  if (runId !== undefined && typeof runId !== 'string') {
    throw new ConfigError(`event.runId: expected a run id (a string), got ${describeValue(runId)}`);
  }
  return {
    config: raw['config'],
    filters: {
      targets: names(raw['targets'], 'event.targets'),
      tables: names(raw['tables'], 'event.tables'),
      mode: mode as Mode | undefined,
    },
    dryRun: dryRun === true,
    runId: runId === undefined ? undefined : checkRunId(runId, 'event.runId'),
    action: action ?? 'copy',
    budgetBytes,
    verify: verify === true,
    resume:
      resume === undefined
        ? undefined
        : ResumeReport.fromJson(resume, 'the report', 'event.resume'),
    sync: sync === true,
  };
}

/** Event names that the config does not know are errors naming the event key and what exists. */
export function checkEventNames(config: Config, filters: PlanFilters): void {
  const targets = config.targets.map((t) => t.name);
  filters.targets?.forEach((name, i) => {
    if (!targets.includes(name)) {
      throw new ConfigError(
        `event.targets[${i}]: no target named "${name}" (targets: ${targets.join(', ')})`,
      );
    }
  });
  const tables = new Set(
    config.targets.flatMap((t) => t.tables.flatMap((s) => [s.source, s.target])),
  );
  // A name a target's pattern may match is checked once the patterns are expanded (by the plan).
  filters.tables?.forEach((name, i) => {
    if (!tables.has(name) && !config.targets.some((t) => mayMatch(t, name)))
      throw new ConfigError(`event.tables[${i}]: no table named "${name}" in any target`);
  });
}

/** A table name one of the target's patterns matches, and its exclude does not. */
function mayMatch(target: TargetConfig, name: string): boolean {
  const matches = (patterns: readonly string[] | undefined): boolean =>
    (patterns ?? []).some((p) => tablePatternRegExp(p).test(name));
  return matches(target.tablePatterns) && !matches(target.exclude);
}
