import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { RUN_ID_PATTERN, checkRunId, newRunId } from '../../src/run-id.js';

describe('run ids', () => {
  it('accepts 1 to 128 letters, digits and . _ : / -', () => {
    for (const id of ['a', 'nightly-2026-12-06', 'exec:1/2_3.4', 'x'.repeat(128)]) {
      expect(checkRunId(id, 'event.runId')).toBe(id);
    }
  });

  it.each([
    [
      '',
      'event.runId: expected a run id (1 to 128 of the characters A-Z a-z 0-9 . _ : / -), got ""',
    ],
    ['a b', 'got "a b"'],
    ["x'; DROP", `got "x'; DROP"`],
    ['été', 'got "été"'],
    ['x'.repeat(129), '(129 characters)'],
  ])('refuses %j, naming where it came from', (id, message) => {
    const error = (() => {
      try {
        return checkRunId(id, 'event.runId');
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message.startsWith('event.runId: ')).toBe(true);
    expect((error as ConfigError).message).toContain(message);
  });

  it('generates ids from the start time (UTC, to the second) and random hex, each valid', () => {
    const now = new Date('2026-12-06T21:47:00.123Z');
    const id = newRunId(now);
    expect(id).toMatch(/^20261206T214700Z-[0-9a-f]{6}$/);
    expect(RUN_ID_PATTERN.test(id)).toBe(true);
    expect(newRunId(now)).not.toBe(id);
  });
});
