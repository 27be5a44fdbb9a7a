import type { ResolvedEndpoints } from '../secrets/resolve-endpoints.js';
import { Connector, type ConnectorDeps } from './connector.js';
import { tlsOptions } from './tls.js';

/** One Connector per endpoint (so one SSH tunnel per endpoint), closed together. */
export class Connectors implements AsyncDisposable {
  readonly source: Connector;
  readonly targets: ReadonlyMap<string, Connector>;
  /** Where the engine says its steps (`--verbose`); a no-op by default. */
  readonly step: (message: string) => void;

  constructor(endpoints: ResolvedEndpoints, deps: ConnectorDeps = {}) {
    // TLS settings are configuration: a missing or unreadable sslrootcert, or one that holds no
    // certificate, is a config error for every endpoint before anything connects.
    for (const spec of [endpoints.source, ...endpoints.targets.values()]) {
      if (!spec.unavailable) tlsOptions(spec);
    }
    this.step = deps.trace?.step ?? (() => undefined);
    this.source = new Connector(endpoints.source, deps);
    this.targets = new Map(
      [...endpoints.targets].map(([name, spec]) => [name, new Connector(spec, deps)]),
    );
  }

  target(name: string): Connector {
    const connector = this.targets.get(name);
    if (!connector) throw new Error(`no connector for target ${name}`);
    return connector;
  }

  /**
   * Ends the connections the plan handed back (Connector.release) where what follows the plan
   * will not take them: nothing sits idle on a server through a long verify or sync.
   */
  async endIdle(): Promise<void> {
    await Promise.allSettled([this.source, ...this.targets.values()].map((c) => c.endIdle()));
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.source, ...this.targets.values()].map((c) => c.close()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
