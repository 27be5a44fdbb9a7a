import type { LambdaContext } from '../../src/lambda/handler.js';
import type { LogSink } from '../../src/lambda/log-events.js';

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
