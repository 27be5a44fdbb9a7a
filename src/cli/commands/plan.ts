import { loadCommandConfig } from '../load-command-config.js';
import { MODES, type Mode } from '../../config/types.js';
import { ConfigError } from '../../errors.js';
import { makePlan } from '../../plan/make-plan.js';
import { planToJson, renderPlan } from '../../plan/render-plan.js';
import { planHasErrors } from '../../plan/types.js';
import { printableJson } from '../../report/printable.js';
import { openConnectors } from '../../session.js';
import { parseCommandArgs } from '../parse-args.js';
import { EXIT, type CliIo } from '../io.js';

export function parseMode(value: string | undefined): Mode | undefined {
  if (value === undefined) return undefined;
  if (!(MODES as readonly string[]).includes(value)) {
    throw new ConfigError(`--mode: expected one of ${MODES.join(', ')}, got "${value}"`);
  }
  return value as Mode;
}

/** `pgcopy plan`: what would be copied where; exit 1 when any table cannot be copied. */
export async function planCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    config: { type: 'string', short: 'c' },
    target: { type: 'string', multiple: true },
    table: { type: 'string', multiple: true },
    mode: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (positionals.length > 0)
    throw new ConfigError(`usage: unexpected argument "${positionals[0] ?? ''}"`);
  const config = await loadCommandConfig(values.config, io);
  const filters = { targets: values.target, tables: values.table, mode: parseMode(values.mode) };
  const connectors = await openConnectors(config, {
    env: io.env,
    ...(io.signal ? { signal: io.signal } : {}),
  });
  try {
    const plan = await makePlan(
      config,
      connectors,
      filters,
      io.signal ? { signal: io.signal } : {},
    );
    io.stdout.write(values.json ? printableJson(planToJson(plan)) + '\n' : renderPlan(plan));
    return planHasErrors(plan) ? EXIT.FAILED : EXIT.OK;
  } finally {
    await connectors.close();
  }
}
