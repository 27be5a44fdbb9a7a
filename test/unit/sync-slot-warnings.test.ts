import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/validate.js';
import type { SlotInfo } from '../../src/sync/slot.js';
import { slotWarnings } from '../../src/sync/slot-warnings.js';

const endpoint = { host: '127.0.0.1', port: 5432, database: 'd', user: 'u', schema: 's' };
const configWith = (options: Record<string, unknown>) =>
  validateConfig({
    source: endpoint,
    targets: [{ name: 'db_1', ...endpoint, tables: ['t'] }],
    options,
  });
const slot = (heldBytes: number): SlotInfo => ({
  slot: 'pgcopy_s',
  plugin: 'pgoutput',
  database: 'd',
  active: false,
  confirmedFlush: '0/10',
  restart: '0/10',
  current: '0/20',
  heldBytes,
  lagBytes: 0,
});

describe('the slot-WAL warning', () => {
  it('without options.sync, a slot over 1 GB of WAL warns, one at 1 GB does not', () => {
    const config = configWith({});
    expect(slotWarnings(config, slot(1024 ** 3))).toEqual([]);
    const [warning] = slotWarnings(config, slot(1024 ** 3 + 1));
    expect(warning).toContain(
      'replication slot pgcopy_s holds 1.0 GB of WAL on the source (options.sync.maxSlotWal: 1.0 GB)',
    );
    expect(warning).toContain('pgcopy sync --drop');
  });

  it('prints bytes in the unit that fits, up to TB', () => {
    const config = configWith({ sync: { maxSlotWal: 1 } });
    const held = (bytes: number) =>
      /holds (.*?) of WAL/.exec(slotWarnings(config, slot(bytes))[0] ?? '')?.[1];
    expect(held(2)).toBe('2 B');
    expect(held(1023)).toBe('1023 B');
    expect(held(1536)).toBe('1.5 kB');
    expect(held(5 * 1024 ** 2)).toBe('5.0 MB');
    expect(held(3 * 1024 ** 4)).toBe('3.0 TB');
    // Beyond TB the unit stays TB.
    expect(held(2048 * 1024 ** 4)).toBe('2048.0 TB');
  });
});
