import { DEFAULT_MAX_SLOT_WAL_BYTES } from '../config/schema.js';
import type { Config } from '../config/types.js';
import type { SlotInfo } from './slot.js';

/** A slot holding more WAL than options.sync.maxSlotWal: the source's disk fills while it waits. */
export function slotWarnings(config: Config, slot: SlotInfo): string[] {
  const limit = config.options.sync?.maxSlotWalBytes ?? DEFAULT_MAX_SLOT_WAL_BYTES;
  if (slot.heldBytes <= limit) return [];
  return [
    `replication slot ${slot.slot} holds ${formatBytes(slot.heldBytes)} of WAL on the source (options.sync.maxSlotWal: ${formatBytes(limit)}): run pgcopy sync more often, or drop the slot with pgcopy sync --drop if it is no longer followed`,
  ];
}

function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit] ?? 'B'}`;
}
