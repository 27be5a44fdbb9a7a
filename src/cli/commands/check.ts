import { loadCommandConfig } from '../load-command-config.js';
import { ConfigError, describeError } from '../../errors.js';
import { checkEndpoint } from '../../check/check-endpoint.js';
import { sourceNeeds, targetNeeds } from '../../check/needs.js';
import { checkProblems, renderCheck } from '../../check/render-check.js';
import { printable, printableJson, printed } from '../../report/printable.js';
import { probeTargets } from '../../ledger/probe-targets.js';
import { LOST_GUARANTEE, ledgerAccessLines } from '../../ledger/probe-ledger.js';
import { expandTablePatterns } from '../../plan/expand-patterns.js';
import { openConnectors } from '../../session.js';
import { checkSyncNeeds, type SyncNeedsReport } from '../../check/sync-needs.js';
import type { Config } from '../../config/types.js';
import type { Connectors } from '../../db/connectors.js';
import { EXIT, type CliIo } from '../io.js';
import { VERSION } from '../../version.js';
import { parseCommandArgs } from '../parse-args.js';
import { COMMAND_OPTIONS } from '../command-options.js';

/** What sync needs of the source; undefined when the source could not be asked. */
async function sourceSyncNeeds(
  connectors: Connectors,
  config: Config,
  signal: AbortSignal | undefined,
): Promise<SyncNeedsReport | undefined> {
  try {
    const client = await connectors.source.connect(signal ? { signal } : {});
    try {
      return await checkSyncNeeds(client, config);
    } finally {
      await client.end().catch(() => undefined);
    }
  } catch {
    return undefined; // the source's own line says why it could not be reached
  }
}

/** `sync  ready` or what it lacks (a problem only with options.sync; otherwise for information). */
function syncNeedsLines(report: SyncNeedsReport | undefined): string {
  if (report === undefined) return '';
  // Names from the config and the server, escaped where they are interpolated (the line's own
  // newline must stay one).
  const slot = report.slotExists
    ? printed`slot ${report.slot} exists`
    : printed`slot ${report.slot} not created yet`;
  return report.missing.length === 0
    ? `sync: ready (${slot})\n`
    : `sync: not ready (${slot}); the source needs: ${printable(report.missing.join('; '))}\n`;
}

/**
 * `pgcopy check -c FILE`: resolves secrets, opens tunnels and connects to every endpoint; prints
 * server version, TLS, latency and missing privileges. Exit 1 when anything is missing.
 */
export async function checkCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, COMMAND_OPTIONS.check);
  if (positionals.length > 0) {
    throw new ConfigError(`usage: unexpected argument "${positionals.join(' ')}"`);
  }
  const config = await loadCommandConfig(values.config, io);
  const signal = io.signal;
  const connectors = await openConnectors(config, {
    env: io.env,
    trace: io.trace,
    ...(signal ? { signal } : {}),
  });
  try {
    // The tables a pattern matches, as plan, run and verify expand them.
    const expanded = await expandTablePatterns(config, connectors, signal ? { signal } : {}).then(
      (e) => ({ config: e.config, problem: undefined }),
      (error: unknown) => ({
        config,
        problem: `tables: the patterns could not be expanded (${describeError(error)}): the tables they match were not checked`,
      }),
    );
    const checked = expanded.config;
    const reports = await Promise.all([
      checkEndpoint(connectors.source, sourceNeeds(checked), signal),
      ...checked.targets.map((t) =>
        checkEndpoint(connectors.target(t.name), targetNeeds(checked, t), signal),
      ),
    ]);
    const syncNeeds = await sourceSyncNeeds(connectors, checked, signal);
    const more = [
      ...(expanded.problem === undefined ? [] : [expanded.problem]),
      // What sync lacks stops the check only where the config says it syncs (options.sync).
      ...(config.options.sync !== undefined && syncNeeds !== undefined
        ? syncNeeds.missing.map((m) => `source: sync needs ${m}`)
        : []),
    ];
    const problems = checkProblems(reports, more);
    // Not a problem: without a ledger a run goes on, with the guarantee the lines say it loses.
    const ledgers = await probeTargets(
      connectors,
      checked.targets.map((t) => t.name),
      config.options.ledgerSchema,
      signal,
    );
    io.stdout.write(
      values.json
        ? printableJson({
            version: VERSION,
            passed: problems.length === 0,
            problems,
            endpoints: reports,
            ...(syncNeeds === undefined ? {} : { sync: syncNeeds }),
            ledgers: ledgers.map((l) =>
              l.state === 'unavailable' || l.state === 'not checked'
                ? { ...l, lost: LOST_GUARANTEE }
                : l,
            ),
          }) + '\n'
        : renderCheck(reports, more) + ledgerAccessLines(ledgers) + syncNeedsLines(syncNeeds),
    );
    for (const w of syncNeeds?.warnings ?? [])
      io.stderr.write(`pgcopy: warning: ${printable(w)}\n`);
    signal?.throwIfAborted();
    return problems.length > 0 ? EXIT.FAILED : EXIT.OK;
  } finally {
    await connectors.close();
  }
}
