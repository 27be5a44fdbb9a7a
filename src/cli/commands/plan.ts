import { loadCommandConfig } from '../load-command-config.js';
import { MODES, type Mode } from '../../config/types.js';
import { ConfigError } from '../../errors.js';
import { makePlan } from '../../plan/make-plan.js';
import { planItems, type PlanItem } from '../../plan/plan-items.js';
import { formatMegabytes } from '../../report/format.js';
import { planToJson, renderPlan } from '../../plan/render-plan.js';
import type { PlanFilters } from '../../plan/select-tables.js';
import { planHasErrors } from '../../plan/types.js';
import { printableJson, printed } from '../../report/printable.js';
import { openConnectors } from '../../session.js';
import { probeTargets } from '../../ledger/probe-targets.js';
import { ledgerAccessLines } from '../../ledger/probe-ledger.js';
import { parseCommandArgs } from '../parse-args.js';
import { COMMAND_OPTIONS } from '../command-options.js';
import { EXIT, type CliIo } from '../io.js';
import { VERSION } from '../../version.js';

export function parseMode(value: string | undefined): Mode | undefined {
  if (value === undefined) return undefined;
  if (!(MODES as readonly string[]).includes(value)) {
    throw new ConfigError(`--mode: expected one of ${MODES.join(', ')}, got "${value}"`);
  }
  return value as Mode;
}

/** The plan filters given by SELECTION_OPTIONS' values (plan and run). */
export function filtersFrom(values: {
  target?: string[] | undefined;
  table?: string[] | undefined;
  mode?: string | undefined;
  'allow-truncate'?: string[] | undefined;
}): PlanFilters {
  return {
    targets: values.target,
    tables: values.table,
    mode: parseMode(values.mode),
    allowTruncate: values['allow-truncate'],
  };
}

function parseBudget(value: string): number {
  const bytes = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(bytes) || bytes <= 0) {
    throw new ConfigError(`--budget: expected a positive whole number of bytes, got "${value}"`);
  }
  return bytes;
}

/** One line per item: its size, pairs, targets and tables. */
function renderItems(items: readonly PlanItem[]): string {
  return items
    .map(
      (item, i) =>
        printed`item ${i}: ${formatMegabytes(item.estimatedBytes)} MB, ${item.pairs} pair(s); targets ${item.targets.join(', ')}; tables ${item.tables.join(', ')}` +
        '\n',
    )
    .join('');
}

/** `pgcopy plan`: what would be copied where; exit 1 when any table cannot be copied. */
export async function planCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, COMMAND_OPTIONS.plan);
  if (values.budget !== undefined && values.items !== true)
    throw new ConfigError('--budget: only with --items');
  const budget = values.budget === undefined ? undefined : parseBudget(values.budget);
  if (positionals.length > 0)
    throw new ConfigError(`usage: unexpected argument "${positionals[0] ?? ''}"`);
  const config = await loadCommandConfig(values.config, io);
  const filters = filtersFrom(values);
  const connectors = await openConnectors(config, {
    env: io.env,
    trace: io.trace,
    ...(io.signal ? { signal: io.signal } : {}),
  });
  try {
    const plan = await makePlan(
      config,
      connectors,
      filters,
      io.signal ? { signal: io.signal } : {},
    );
    const ledgers = await probeTargets(
      connectors,
      plan.targets.map((t) => t.name),
      config.options.ledgerSchema,
      io.signal,
    );
    if (values.items === true) {
      const items = planItems(plan, budget);
      io.stdout.write(values.json ? printableJson(items) + '\n' : renderItems(items));
      return planHasErrors(plan) ? EXIT.FAILED : EXIT.OK;
    }
    io.stdout.write(
      values.json
        ? printableJson({ version: VERSION, ...(planToJson(plan) as object), ledgers }) + '\n'
        : renderPlan(plan) + ledgerAccessLines(ledgers),
    );
    return planHasErrors(plan) ? EXIT.FAILED : EXIT.OK;
  } finally {
    await connectors.close();
  }
}
