import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/validate.js';
import { ConfigError } from '../../src/errors.js';
import { syncNames } from '../../src/sync/names.js';

const base = (targets: string[], sync?: Record<string, unknown>): Record<string, unknown> => ({
  source: { host: 'db.example', database: 'app' },
  targets: targets.map((name) => ({ name, host: `${name}.example`, tables: ['orders'] })),
  ...(sync ? { options: { sync } } : {}),
});

describe('pgcopy sync names', () => {
  it('derives a stable slot name from the source and the targets, valid as a slot name', () => {
    const one = syncNames(validateConfig(base(['a', 'b'])));
    expect(one.slot).toMatch(/^pgcopy_[0-9a-f]{12}$/);
    expect(syncNames(validateConfig(base(['b', 'a'])))).toEqual(one);
    expect(syncNames(validateConfig(base(['a', 'c']))).slot).not.toBe(one.slot);
    expect(one.publication).toBe(one.slot);
    expect(one.insertOnlyPublication).toBe(`${one.slot}_insert_only`);
  });

  it('takes options.sync.slot and publication, and refuses a name PostgreSQL would not take', () => {
    const named = syncNames(
      validateConfig(base(['a'], { slot: 'app_sync', publication: 'app_pub' })),
    );
    expect(named).toEqual({
      slot: 'app_sync',
      publication: 'app_pub',
      insertOnlyPublication: 'app_pub_insert_only',
    });
    expect(() => validateConfig(base(['a'], { slot: 'App-Sync' }))).toThrow(ConfigError);
    expect(() => validateConfig(base(['a'], { slot: 'App-Sync' }))).toThrow(
      /options\.sync\.slot: .*lower-case letters, digits and _/,
    );
    expect(() => validateConfig(base(['a'], { maxSlotWal: 'lots' }))).toThrow(
      /options\.sync\.maxSlotWal/,
    );
  });

  it('reads maxSlotWal as a size and insertOnly as table names', () => {
    const config = validateConfig(base(['a'], { maxSlotWal: '512MB', insertOnly: ['audit'] }));
    expect(config.options.sync).toEqual({
      maxSlotWalBytes: 512 * 1024 ** 2,
      insertOnly: ['audit'],
    });
  });
});
