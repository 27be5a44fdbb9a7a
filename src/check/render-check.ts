import { printable } from '../report/printable.js';
import type { EndpointReport } from './check-endpoint.js';
import { preparedLine } from '../plan/prepared-waits.js';
import type { PreparedReport } from './prepared-report.js';

/** The database's prepared transactions: how many, then one line for each locking a checked table. */
function renderPrepared(p: PreparedReport | undefined): string[] {
  if (p === undefined || p.total === 0) return [];
  const own = p.pgcopy > 0 ? ` (${p.pgcopy} of them pgcopy's own, settled by its next run)` : '';
  const locking =
    p.locking.length === 0
      ? 'none locks a checked table'
      : `${p.locking.length} lock checked tables:`;
  return [
    `  prepared    ${p.total} prepared transaction(s) in the database${own}; ${locking}`,
    ...p.locking.map((x) => `                ${preparedLine(x, p.lockTimeoutMs)}`),
  ];
}

function renderEndpoint(r: EndpointReport): string[] {
  if ('error' in r) return [r.description, `  error       ${r.error}`];
  const tables = `${r.checked} table${r.checked === 1 ? '' : 's'}`;
  return [
    r.description,
    `  server      PostgreSQL ${r.version}`,
    `  TLS         ${r.tls}`,
    `  latency     ${r.latencyMs.toFixed(1)} ms round trip (best of 5; connect ${r.connectMs} ms)`,
    r.missing.length === 0
      ? `  privileges  ok (${tables})`
      : `  privileges  MISSING: ${r.missing.join('; ')}`,
    ...(r.mayDisableTriggers === undefined
      ? []
      : [
          r.mayDisableTriggers
            ? '  triggers    may be disabled (session_replication_role = replica)'
            : '  triggers    may not be disabled (session_replication_role needs superuser or SET on it)',
        ]),
    ...(r.sessionPathTriggers === undefined
      ? []
      : [
          `  triggers    ${r.sessionPathTriggers.length} trigger function(s) without a search_path of their own (loaded under the role's or database's): ${r.sessionPathTriggers.join(', ')}`,
        ]),
    ...renderPrepared(r.prepared),
  ];
}

/**
 * Everything that stops the run: each endpoint's (unreachable, missing tables and privileges, a
 * prepared transaction a load waits for), then the run-wide ones (`more`: patterns that could not
 * be expanded).
 */
export function checkProblems(
  reports: readonly EndpointReport[],
  more: readonly string[] = [],
): string[] {
  return [
    ...reports.flatMap((r) =>
      'error' in r
        ? [`${r.name}: cannot connect`]
        : [...r.missing, ...(r.prepared?.problems ?? [])].map((m) => `${r.name}: ${m}`),
    ),
    ...more,
  ];
}

export function renderCheck(
  reports: readonly EndpointReport[],
  more: readonly string[] = [],
): string {
  const problems = checkProblems(reports, more);
  const verdict =
    problems.length === 0
      ? 'check passed: every endpoint is reachable and has the privileges the run needs'
      : `check failed:\n${problems.map((p) => `  - ${printable(p)}`).join('\n')}`;
  // Each line holds names and server text: made printable line by line.
  const lines = reports.flatMap((r) => [...renderEndpoint(r), '']).map(printable);
  return [...lines, ...verdict.split('\n')].join('\n') + '\n';
}
