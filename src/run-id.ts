import { randomBytes } from 'node:crypto';
import { ConfigError } from './errors.js';

/** What a run id may hold: it names the run in the targets' ledgers, reports, logs and events. */
export const RUN_ID_PATTERN = /^[A-Za-z0-9._:/-]{1,128}$/;

/** A given run id, checked; `where` names its origin (`--run-id`, `event.runId`) in the error. */
export function checkRunId(value: string, where: string): string {
  if (!RUN_ID_PATTERN.test(value)) {
    throw new ConfigError(
      `${where}: ${JSON.stringify(value.slice(0, 40))}${value.length > 40 ? '…' : ''} is not a run id (1 to 128 characters of letters, digits and . _ : / -)`,
    );
  }
  return value;
}

/** A new run id: when it started (UTC, to the second) and six random hex digits. */
export function newRunId(now: Date): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}
