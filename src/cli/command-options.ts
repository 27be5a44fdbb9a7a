/**
 * Every command's options, as node:util parseArgs declares them: the commands parse with these
 * tables and `pgcopy completion` completes from them, so the two cannot drift.
 */

/** Options every command takes: how it prints, and how much it says (stderr). */
export const GLOBAL_OPTIONS = {
  ascii: { type: 'boolean' },
  verbose: { type: 'boolean' },
  debug: { type: 'boolean' },
} as const;

/** The options plan and run share: which targets and tables, in what mode. */
export const SELECTION_OPTIONS = {
  config: { type: 'string', short: 'c' },
  target: { type: 'string', multiple: true },
  table: { type: 'string', multiple: true },
  mode: { type: 'string' },
  'allow-truncate': { type: 'string', multiple: true },
} as const;

export const COMMAND_OPTIONS = {
  plan: {
    ...SELECTION_OPTIONS,
    json: { type: 'boolean' },
    items: { type: 'boolean' },
    budget: { type: 'string' },
  },
  run: {
    ...SELECTION_OPTIONS,
    concurrency: { type: 'string' },
    report: { type: 'string' },
    'dry-run': { type: 'boolean' },
    verify: { type: 'boolean' },
    resume: { type: 'string' },
    'run-id': { type: 'string' },
    quiet: { type: 'boolean', short: 'q' },
    json: { type: 'boolean' },
  },
  verify: {
    config: { type: 'string', short: 'c' },
    target: { type: 'string', multiple: true },
    table: { type: 'string', multiple: true },
    json: { type: 'boolean' },
  },
  history: {
    config: { type: 'string', short: 'c' },
    target: { type: 'string', multiple: true },
    limit: { type: 'string' },
    json: { type: 'boolean' },
  },
  check: {
    config: { type: 'string', short: 'c' },
    json: { type: 'boolean' },
  },
  sync: {
    config: { type: 'string', short: 'c' },
    until: { type: 'string' },
    follow: { type: 'boolean' },
    status: { type: 'boolean' },
    drop: { type: 'boolean' },
    quiet: { type: 'boolean', short: 'q' },
    json: { type: 'boolean' },
  },
  init: {
    source: { type: 'string' },
    target: { type: 'string', multiple: true },
    schema: { type: 'string' },
    output: { type: 'string', short: 'o' },
  },
  fingerprint: {},
  completion: {},
} as const;

export type CommandName = keyof typeof COMMAND_OPTIONS;
