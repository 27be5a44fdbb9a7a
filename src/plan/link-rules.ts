import type { ConnectionSpec } from '../db/connection-spec.js';
import type { TablePlan } from './types.js';

/**
 * The server-side strategies make one server log in to the other: the source's for dblink and
 * fdw, the target's for fdw-push. A client certificate is a file on pgcopy's machine, which that
 * server cannot present: the plan refuses the pair instead of a failure at copy time.
 */
export function withLinkCertificateRule(
  plan: TablePlan,
  endpoints: { readonly source: ConnectionSpec; readonly target: ConnectionSpec },
): TablePlan {
  if (plan.strategy === 'stream') return plan;
  const far = plan.strategy === 'fdw-push' ? endpoints.target : endpoints.source;
  if (far.sslcert === undefined || far.sslmode === 'disable') return plan;
  const side = plan.strategy === 'fdw-push' ? 'the source' : 'the target';
  return {
    ...plan,
    errors: [
      ...plan.errors,
      `strategy ${plan.strategy}: ${far.name} logs in with a client certificate (${far.name}.sslcert), which ${side}'s server cannot present; use strategy stream for this table`,
    ],
  };
}
