import type { ResolvedSsh } from '../db/connection-spec.js';

/** A local listener whose every accepted socket is forwarded through SSH to one database. */
export interface Tunnel {
  readonly localHost: string;
  readonly localPort: number;
  /** Set once the SSH connection has failed or dropped; later connects fail with it. */
  readonly failure: Error | undefined;
  close(): Promise<void>;
}

export type OpenTunnel = (
  ssh: ResolvedSsh,
  destination: { readonly host: string; readonly port: number },
  options?: { readonly signal?: AbortSignal },
) => Promise<Tunnel>;
