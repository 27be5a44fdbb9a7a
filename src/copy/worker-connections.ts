import type pg from 'pg';
import type { Connector } from '../db/connector.js';
import { endClient } from '../db/end-client.js';
import { SESSION_SETTINGS_SQL } from './sql.js';

/** Where a worker's connections come from: the source's connector and each target's. */
export interface WorkerEndpoints {
  readonly source: Connector;
  target(name: string): Connector;
}

/**
 * One worker's connections, kept for the whole run: one to the source and one per target it writes
 * to, each opened (and given the session settings) on first use, so a table costs no connection,
 * TLS handshake or authentication of its own. A table hands each client back saying whether it is
 * still usable: one whose state is unknown (a failure, an abort) is closed and replaced next time,
 * never reused.
 */
export class WorkerConnections {
  private source: Promise<pg.Client> | undefined;
  private readonly targets = new Map<string, Promise<pg.Client>>();
  private readonly watched = new WeakSet<pg.Client>();

  constructor(private readonly endpoints: WorkerEndpoints) {}

  /** The worker's source client, idle and outside any transaction. */
  sourceClient(options: { signal?: AbortSignal } = {}): Promise<pg.Client> {
    const client = (this.source ??= open(this.endpoints.source, options));
    const forget = (): void => {
      if (this.source === client) this.source = undefined;
    };
    return this.watch(client, forget);
  }

  /** The worker's client to one target, idle and outside any transaction. */
  targetClient(name: string, options: { signal?: AbortSignal } = {}): Promise<pg.Client> {
    let held = this.targets.get(name);
    if (!held) {
      held = open(this.endpoints.target(name), options);
      this.targets.set(name, held);
    }
    const client = held;
    const forget = (): void => {
      if (this.targets.get(name) === client) this.targets.delete(name);
    };
    return this.watch(client, forget);
  }

  /** Takes a client back: kept for the next table when usable, closed otherwise. */
  async release(client: pg.Client, usable: boolean): Promise<void> {
    if (usable) return;
    if (this.source && (await settled(this.source)) === client) this.source = undefined;
    for (const [name, held] of this.targets) {
      if ((await settled(held)) === client) this.targets.delete(name);
    }
    await endClient(client);
  }

  /** Closes every connection (an open transaction, if any, ends with it). */
  async close(): Promise<void> {
    const all = [this.source, ...this.targets.values()];
    this.source = undefined;
    this.targets.clear();
    await Promise.all(
      all.map(async (held) => {
        const client = held && (await settled(held));
        if (client) await endClient(client);
      }),
    );
  }

  /**
   * A connect that failed is not kept, nor a connection that ends or fails while it waits between
   * tables (a server restart, a terminated backend): the next table opens a new one.
   */
  private async watch(held: Promise<pg.Client>, forget: () => void): Promise<pg.Client> {
    let client: pg.Client;
    try {
      client = await held;
    } catch (error) {
      forget();
      throw error;
    }
    if (!this.watched.has(client)) {
      this.watched.add(client);
      client.once('end', forget);
      client.once('error', forget);
    }
    return client;
  }
}

/** A new connection with the session settings, sent as it connects (no round trip of their own). */
function open(connector: Connector, options: { signal?: AbortSignal }): Promise<pg.Client> {
  return connector.connect({ ...options, settings: SESSION_SETTINGS_SQL });
}

async function settled(client: Promise<pg.Client>): Promise<pg.Client | undefined> {
  return client.catch(() => undefined);
}
