import { validateConfig } from '../../src/config/validate.js';
import type { Config } from '../../src/config/types.js';
import type { ServerInfo } from './server-info.js';

export function endpointOf(server: ServerInfo, schema: string): Record<string, unknown> {
  return {
    host: server.host,
    port: server.port,
    database: 'postgres',
    user: server.user,
    password: server.password,
    schema,
    sslmode: 'disable',
  };
}

export interface TestTarget {
  readonly name: string;
  readonly server: ServerInfo;
  readonly schema: string;
  readonly tables: readonly unknown[];
  readonly extra?: Record<string, unknown>;
}

/** A validated config over the suite's servers (raw YAML-equivalent object first, like a user's file). */
export function testConfig(
  source: { server: ServerInfo; schema: string },
  targets: readonly TestTarget[],
  options: Record<string, unknown> = {},
): Config {
  return validateConfig({
    source: endpointOf(source.server, source.schema),
    targets: targets.map((t) => ({
      name: t.name,
      ...endpointOf(t.server, t.schema),
      tables: t.tables,
      ...t.extra,
    })),
    options,
  });
}
