import { endClient } from '../../db/end-client.js';
import { ConfigError, describeError } from '../../errors.js';
import { recordedRuns, type RecordedRun } from '../../ledger/history.js';
import { formatCount } from '../../report/format.js';
import { printableJson } from '../../report/printable.js';
import { textTable } from '../../report/text-table.js';
import { openConnectors } from '../../session.js';
import { EXIT, type CliIo } from '../io.js';
import { VERSION } from '../../version.js';
import { loadCommandConfig } from '../load-command-config.js';
import { parseCommandArgs } from '../parse-args.js';
import { COMMAND_OPTIONS } from '../command-options.js';

/** What one target said: its runs, or why it has none to show. */
interface TargetHistory {
  readonly name: string;
  readonly runs: readonly RecordedRun[];
  /** `no ledger`, or the error that kept it from being read. */
  readonly note?: string;
}

function parseLimit(value: string | undefined): number {
  if (value === undefined) return 20;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 10_000) {
    throw new ConfigError(`--limit: expected an integer from 1 to 10000, got "${value}"`);
  }
  return n;
}

/**
 * `pgcopy history`: the recent runs as the targets' ledgers recorded them (run id, time, tables,
 * rows), newest first. Exit 1 when a target could not be read.
 */
export async function historyCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, COMMAND_OPTIONS.history);
  if (positionals.length > 0) {
    throw new ConfigError(`usage: unexpected argument "${positionals.join(' ')}"`);
  }
  const limit = parseLimit(values.limit);
  const config = await loadCommandConfig(values.config, io);
  const names = values.target ?? config.targets.map((t) => t.name);
  for (const name of names) {
    if (!config.targets.some((t) => t.name === name)) {
      throw new ConfigError(`--target: no target is named "${name}" in the config`);
    }
  }
  const signal = io.signal ? { signal: io.signal } : {};
  const connectors = await openConnectors(
    { ...config, targets: config.targets.filter((t) => names.includes(t.name)) },
    { env: io.env, trace: io.trace, ...signal },
  );
  const schema = config.options.ledgerSchema;
  try {
    const histories = await Promise.all(
      names.map(async (name): Promise<TargetHistory> => {
        try {
          const client = await connectors.target(name).connect(signal);
          try {
            const runs = await recordedRuns(client, name, { schema, limit });
            return runs ? { name, runs } : { name, runs: [], note: `no ledger (${schema})` };
          } finally {
            await endClient(client);
          }
        } catch (error) {
          return { name, runs: [], note: `could not be read: ${describeError(error)}` };
        }
      }),
    );
    io.stdout.write(
      values.json
        ? printableJson({ version: VERSION, targets: histories }) + '\n'
        : render(histories),
    );
    return histories.some((h) => h.note?.startsWith('could not') === true) ? EXIT.FAILED : EXIT.OK;
  } finally {
    await connectors.close();
  }
}

function render(histories: readonly TargetHistory[]): string {
  const runs = histories
    .flatMap((h) => h.runs)
    .sort((a, b) => b.lastCommit.localeCompare(a.lastCommit));
  const rows = runs.map((r) => [
    r.target,
    r.runId,
    r.lastCommit,
    String(r.tables),
    formatCount(r.rows),
  ]);
  let out =
    rows.length > 0
      ? textTable(['TARGET', 'RUN ID', 'LAST COMMIT', 'TABLES', 'ROWS'], rows)
      : 'No run recorded.\n';
  for (const h of histories) if (h.note) out += `${h.name}: ${h.note}\n`;
  return out;
}
