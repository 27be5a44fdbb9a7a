import type { LambdaContext } from '../../src/lambda/handler.js';
import type { LogSink } from '../../src/lambda/log-events.js';
import { servers } from './db.js';
import {
  REGION,
  startSecretsManagerServer,
  type SecretsManagerServer,
} from './secrets-manager-server.js';
import type { ServerInfo } from './server-info.js';
import type { TestSshServer } from './ssh-server.js';

/** A Lambda context whose time runs out `remainingMs` after it is made. */
export function fakeContext(remainingMs = 900_000): LambdaContext {
  const deadline = Date.now() + remainingMs;
  return {
    awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
    functionName: 'pgcopy',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:ap-southeast-2:123456789012:function:pgcopy',
    memoryLimitInMB: '1024',
    logGroupName: '/aws/lambda/pgcopy',
    logStreamName: '2026/11/24/[$LATEST]abcdef',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}

export interface LogEntry {
  readonly level: 'info' | 'warn' | 'error';
  readonly message: string;
  readonly attributes: Record<string, unknown>;
}

/** A LogSink that keeps what it is given. */
export function recordingLog(): LogSink & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const at =
    (level: LogEntry['level']) =>
    (message: string, attributes: Record<string, unknown>): void => {
      entries.push({ level, message, attributes });
    };
  return { entries, info: at('info'), warn: at('warn'), error: at('error') };
}

/** The suite's servers as secrets `pgcopy/ENV/{source,one,two}`: the source's with the SSH key. */
export async function startLambdaSecrets(
  env: string,
  ssh: TestSshServer,
): Promise<SecretsManagerServer> {
  const { source, target1, target2 } = servers();
  const login = (server: ServerInfo) => ({
    host: server.host,
    port: server.port,
    username: server.user,
    password: server.password,
    dbname: 'postgres',
  });
  return startSecretsManagerServer({
    secrets: {
      [`pgcopy/${env}/source`]: { ...login(source), ssh: ssh.clientKey.private },
      [`pgcopy/${env}/one`]: login(target1),
      [`pgcopy/${env}/two`]: login(target2),
    },
  });
}

/**
 * A raw config whose endpoints are all secrets from `startLambdaSecrets`, the source reached
 * through `ssh`; targets `one` and `two` with the tables given.
 */
export function secretsConfig(options: {
  readonly env: string;
  readonly sm: Pick<SecretsManagerServer, 'endpoint'>;
  readonly ssh: TestSshServer;
  readonly schema: string;
  readonly tables: { readonly one: readonly string[]; readonly two: readonly string[] };
}): Record<string, unknown> {
  const { env, sm, ssh, schema, tables } = options;
  return {
    secrets: { provider: 'aws', prefix: 'pgcopy', env, region: REGION, endpoint: sm.endpoint },
    source: {
      secret: 'source',
      schema,
      sslmode: 'disable',
      ssh: { host: ssh.host, port: ssh.port, user: ssh.user, fingerprint: ssh.fingerprint },
    },
    targets: (['one', 'two'] as const).map((name) => ({
      name,
      secret: name,
      schema,
      sslmode: 'disable',
      tables: tables[name],
    })),
    options: { mode: 'truncate' },
  };
}
