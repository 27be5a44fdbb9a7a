import { loadCommandConfig } from '../load-command-config.js';
import { ConfigError, describeError } from '../../errors.js';
import { checkEndpoint } from '../../check/check-endpoint.js';
import { sourceNeeds, targetNeeds } from '../../check/needs.js';
import { checkProblems, renderCheck } from '../../check/render-check.js';
import { printableJson } from '../../report/printable.js';
import { probeTargets } from '../../ledger/probe-targets.js';
import { LOST_GUARANTEE, ledgerAccessLines } from '../../ledger/probe-ledger.js';
import { expandTablePatterns } from '../../plan/expand-patterns.js';
import { openConnectors } from '../../session.js';
import { EXIT, type CliIo } from '../io.js';
import { VERSION } from '../../version.js';
import { parseCommandArgs } from '../parse-args.js';
import { COMMAND_OPTIONS } from '../command-options.js';

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
    const more = expanded.problem === undefined ? [] : [expanded.problem];
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
            ledgers: ledgers.map((l) =>
              l.state === 'unavailable' || l.state === 'not checked'
                ? { ...l, lost: LOST_GUARANTEE }
                : l,
            ),
          }) + '\n'
        : renderCheck(reports, more) + ledgerAccessLines(ledgers),
    );
    signal?.throwIfAborted();
    return problems.length > 0 ? EXIT.FAILED : EXIT.OK;
  } finally {
    await connectors.close();
  }
}
