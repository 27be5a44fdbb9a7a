import { createHash } from 'node:crypto';
import type { Config } from '../config/types.js';

/** The source objects `pgcopy sync` owns: its slot and its two publications. */
export interface SyncNames {
  readonly slot: string;
  /** Publishes inserts, updates, deletes and truncates of the tables with a key or replica identity. */
  readonly publication: string;
  /** Publishes inserts and truncates only: the tables of options.sync.insertOnly. */
  readonly insertOnlyPublication: string;
}

/**
 * The names, from options.sync or derived from the config: the same config always gets the same
 * slot, and two configs that copy other databases or into other targets get different ones.
 */
export function syncNames(config: Config): SyncNames {
  const slot = config.options.sync?.slot ?? `pgcopy_${configHash(config)}`;
  const publication = config.options.sync?.publication ?? slot;
  return { slot, publication, insertOnlyPublication: `${publication}_insert_only` };
}

function configHash(config: Config): string {
  const s = config.source;
  const identity = [
    s.host ?? '',
    String(s.port ?? ''),
    s.database ?? '',
    s.secret ?? '',
    s.secretId ?? '',
    s.service ?? '',
    s.schema,
    ...config.targets.map((t) => t.name).sort(),
  ].join('\u0000');
  return createHash('sha256').update(identity).digest('hex').slice(0, 12);
}
