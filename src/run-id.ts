import { randomBytes } from 'node:crypto';
import { describeValue } from './config/describe-value.js';
import { ConfigError } from './errors.js';

/**
 * A run's id: 1 to 128 letters, digits and `._:/-`. Targets record it beside what the run
 * committed, so it stays safe in SQL literals, file names, log fields and Step Functions names.
 */
export const RUN_ID_PATTERN = /^[A-Za-z0-9._:/-]{1,128}$/;

/** `value` when it is a valid run id; otherwise a ConfigError naming `where` and the value. */
export function checkRunId(value: string, where: string): string {
  if (!RUN_ID_PATTERN.test(value)) {
    throw new ConfigError(
      `${where}: expected a run id (1 to 128 of the characters A-Z a-z 0-9 . _ : / -), got ${describeValue(value)}${value.length > 128 ? ` (${value.length} characters)` : ''}`,
    );
  }
  return value;
}

/** A new run id: the time it starts (UTC, to the second) and 6 random hex digits. */
export function newRunId(now: Date): string {
  const stamp = now.toISOString().slice(0, 19).replace(/[-:]/g, '');
  return `${stamp}Z-${randomBytes(3).toString('hex')}`;
}
