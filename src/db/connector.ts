import pg from 'pg';
import { ConnectError, TunnelError, describeError } from '../errors.js';
import type { OpenTunnel, Tunnel } from '../tunnel/types.js';
import { describeSpec, type ConnectionSpec } from './connection-spec.js';
import { CancelOnAbort } from './cancel-on-abort.js';
import { endClient } from './end-client.js';
import { takeSearchPath } from './search-path.js';
import type { IamTokenSigner } from './iam-token.js';
import { pgClientConfig, withoutEnvironment } from './pg-client-config.js';
import { isSslUnsupported, tlsOptions } from './tls.js';
import { traceQueries, type Trace } from './trace.js';
import { maskKeyOptions } from '../masking/mask-key.js';

export interface ConnectorDeps {
  /** Opens SSH tunnels; required when an endpoint has `ssh`. */
  readonly openTunnel?: OpenTunnel | undefined;
  /** pg's Client class (a seam for instrumentation, never a mock database). */
  readonly Client?: typeof pg.Client;
  /** The run's abort signal: on abort, the endpoint's running statements are cancelled. */
  readonly signal?: AbortSignal | undefined;
  /** `--verbose` and `--debug`: each connection step, each statement sent (redacted). */
  readonly trace?: Trace | undefined;
  /** Makes the RDS IAM tokens of `auth: iam` endpoints (default: the AWS SDK's signer). */
  readonly iamToken?: IamTokenSigner;
}

/** The transaction status of each client's last ReadyForQuery ('I': idle, outside a transaction). */
const transactionStatus = new WeakMap<pg.Client, string>();

/** A connected client handed back for a later connect, with the settings it was opened with. */
interface IdleClient {
  readonly client: pg.Client;
  readonly settings: string | undefined;
}

/** Opens dedicated pg clients to one endpoint, through its SSH tunnel when it has one. */
export class Connector {
  private tunnel: Promise<Tunnel> | undefined;
  private readonly Client: typeof pg.Client;
  private readonly cancelOnAbort: CancelOnAbort;
  private readonly idle: IdleClient[] = [];

  constructor(
    readonly spec: ConnectionSpec,
    private readonly deps: ConnectorDeps = {},
  ) {
    this.Client = deps.Client ?? pg.Client;
    this.cancelOnAbort = new CancelOnAbort(deps.signal);
  }

  /** The tunnel's failure, if it has dropped (used to explain why a table failed). */
  async tunnelFailure(): Promise<Error | undefined> {
    if (!this.tunnel) return undefined;
    try {
      return (await this.tunnel).failure;
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
  }

  /**
   * A tunnel that opened and then dropped is closed and forgotten, so that the next connection (a retried
   * table's) opens a new one; clients still on the old one have failed already.
   */
  private async dropFailedTunnel(): Promise<void> {
    const current = this.tunnel;
    if (!current) return;
    // A tunnel that never opened stays: its error (a wrong host key...) is every pair's answer.
    const tunnel = await current.catch(() => undefined);
    if (!tunnel?.failure) return;
    if (this.tunnel === current) this.tunnel = undefined;
    await tunnel.close().catch(() => undefined);
  }

  private async address(signal?: AbortSignal): Promise<{ host: string; port: number }> {
    const { spec } = this;
    if (!spec.ssh) return { host: spec.host, port: spec.port };
    const open = this.deps.openTunnel;
    if (!open)
      throw new TunnelError(`${spec.name}: ssh is configured but no tunnel support was given`);
    await this.dropFailedTunnel();
    this.tunnel ??= open(spec.ssh, { host: spec.host, port: spec.port }, signal ? { signal } : {});
    const tunnel = await this.tunnel;
    if (tunnel.failure)
      throw new TunnelError(`${spec.name}: SSH tunnel is down: ${tunnel.failure.message}`, {
        cause: tunnel.failure,
      });
    return { host: tunnel.localHost, port: tunnel.localPort };
  }

  /**
   * A new connected client. Errors name the endpoint, never the password. `settings`: SET
   * statements for the session, sent with pgcopy's search_path in the same round trip.
   * `replication`: a logical replication connection (replication commands and SQL), for pgcopy
   * sync's slot.
   */
  async connect(
    options: { signal?: AbortSignal; settings?: string; replication?: boolean } = {},
  ): Promise<pg.Client> {
    const { spec } = this;
    options.signal?.throwIfAborted();
    if (spec.unavailable) throw spec.unavailable;
    const kept = options.replication === true ? undefined : this.takeIdle(options.settings);
    if (kept) return kept;
    const address = await this.address(options.signal);
    const ssl = tlsOptions(spec);
    const trace = this.deps.trace;
    trace?.step?.(`${spec.name}: connecting to ${describeSpec(spec)}`);
    const attempt = async (sslOption: pg.ClientConfig['ssl']): Promise<pg.Client> => {
      const client = withoutEnvironment(
        new this.Client(pgClientConfig(spec, address, sslOption, this.deps.iamToken)),
        {
          ...(spec.maskKey === undefined ? {} : { options: maskKeyOptions(spec.maskKey) }),
          ...(options.replication === true ? { replication: 'database' as const } : {}),
        },
      );
      // An idle client whose socket dies must not crash the process; the next query reports it.
      client.on('error', () => undefined);
      client.connection.on('readyForQuery', (message: { status?: string }) => {
        if (message.status !== undefined) transactionStatus.set(client, message.status);
      });
      if (trace?.query) traceQueries(client, spec.name, trace.query);
      try {
        await client.connect();
        this.cancelOnAbort.track(client, address);
        await takeSearchPath(client, options.settings);
        return client;
      } catch (error) {
        await client.end().catch(() => undefined);
        throw error;
      }
    };
    try {
      try {
        return await attempt(ssl);
      } catch (error) {
        // sslmode=prefer: fall back to plain text when the server has no TLS, as libpq does.
        if (spec.sslmode === 'prefer' && isSslUnsupported(error)) return await attempt(false);
        throw error;
      }
    } catch (error) {
      throw new ConnectError(
        spec.name,
        `cannot connect to ${describeSpec(spec)}: ${describeError(error)}`,
        {
          cause: error,
        },
      );
    }
  }

  /**
   * Takes back a client this connector opened, for the next `connect` that asks for the same
   * `settings` (the plan's connections become the copy's first: two connections fewer per run,
   * their set-up and authentication saved). Only a client idle outside any transaction is kept,
   * and the caller must have left no session state of its own; any other is ended. Kept clients
   * end with `close`.
   */
  async release(client: pg.Client, settings: string | undefined): Promise<void> {
    if (transactionStatus.get(client) !== 'I') {
      await endClient(client);
      return;
    }
    const entry = { client, settings };
    this.idle.push(entry);
    // A kept connection the server closes (a restart, a terminated backend) is not handed out.
    client.once('end', () => {
      const at = this.idle.indexOf(entry);
      if (at >= 0) this.idle.splice(at, 1);
    });
  }

  /** Ends the clients kept for a later connect: a caller that will not ask for them frees them. */
  async endIdle(): Promise<void> {
    const idle = this.idle.splice(0);
    await Promise.all(idle.map(({ client }) => endClient(client)));
  }

  private takeIdle(settings: string | undefined): pg.Client | undefined {
    const at = this.idle.findIndex((entry) => entry.settings === settings);
    return at < 0 ? undefined : this.idle.splice(at, 1)[0]?.client;
  }

  async close(): Promise<void> {
    await this.endIdle();
    this.cancelOnAbort.dispose();
    const tunnel = this.tunnel;
    this.tunnel = undefined;
    if (tunnel) await (await tunnel.catch(() => undefined))?.close();
  }
}
