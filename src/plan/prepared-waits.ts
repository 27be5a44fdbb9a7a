import type { Mode } from '../config/types.js';
import type { PreparedLocks, PreparedTableLock } from '../db/prepared-locks.js';
import { quoteLiteral } from '../db/quote.js';

/**
 * What a prepared transaction's locks on a target table mean for the load, in the words `plan`
 * and `check` use. Nobody's session ends a prepared transaction: only COMMIT PREPARED or ROLLBACK
 * PREPARED does (pgcopy's own, the parts of a split table, are settled by its next run).
 */

/** The lock a load takes on its table: TRUNCATE and dropping indexes take ACCESS EXCLUSIVE. */
export type LoadLock = 'AccessExclusiveLock' | 'RowExclusiveLock';

export function loadLockOf(mode: Mode, dropsIndexes: boolean): LoadLock {
  return mode === 'truncate' || dropsIndexes ? 'AccessExclusiveLock' : 'RowExclusiveLock';
}

/** The modes ROW EXCLUSIVE conflicts with (PostgreSQL's table); ACCESS EXCLUSIVE conflicts with all. */
const ROW_EXCLUSIVE_CONFLICTS = new Set([
  'ShareLock',
  'ShareRowExclusiveLock',
  'ExclusiveLock',
  'AccessExclusiveLock',
]);

/**
 * `table`: the load waits for it as soon as it locks the table; `rows`: it wrote or locked rows
 * there, and a load writing one of them (a key it wrote) waits; `none`: it only reads the table.
 */
export type PreparedWait = 'table' | 'rows' | 'none';

export function preparedWait(held: readonly string[], wanted: LoadLock): PreparedWait {
  const conflicts = (m: string): boolean =>
    wanted === 'AccessExclusiveLock' || ROW_EXCLUSIVE_CONFLICTS.has(m);
  if (held.some(conflicts)) return 'table';
  if (held.some((m) => m === 'RowExclusiveLock' || m === 'RowShareLock')) return 'rows';
  return 'none';
}

/** A table a prepared transaction locks, and whether the planned load waits for it. */
export interface PreparedTableWait extends PreparedTableLock {
  readonly waits: PreparedWait;
}

/** A prepared transaction locking planned tables of a target: the plan's `prepared` entries. */
export interface PreparedPlan extends Omit<PreparedLocks, 'tables'> {
  readonly tables: readonly PreparedTableWait[];
}

/** Each prepared transaction with what the load of each table it locks takes (`lockOf`). */
export function preparedPlans(
  found: readonly PreparedLocks[],
  lockOf: (table: string) => LoadLock,
): PreparedPlan[] {
  return found.map((p) => ({
    ...p,
    tables: p.tables.map((t) => ({ ...t, waits: preparedWait(t.modes, lockOf(t.table)) })),
  }));
}

/** `prepared transaction "gid" (someone else's; owner …, database …, prepared …, N s ago)` */
export function preparedName(p: Omit<PreparedLocks, 'tables'>): string {
  const whose = p.leftByPgcopy ? "pgcopy's own, left by an earlier run" : "someone else's";
  return `prepared transaction "${p.gid}" (${whose}; owner ${p.owner}, database ${p.database}, prepared ${p.preparedAt}, ${p.seconds} s ago)`;
}

const WAIT_WORDS: Readonly<Record<PreparedWait, string>> = {
  table: 'the load waits for it',
  rows: 'rows it wrote or locked: a load writing one of them waits for it',
  none: 'the load does not wait for it',
};

/** How long the run waits for a lock: until lockTimeout, or for as long as the holder stays. */
export function waitLimit(lockTimeoutMs: number | undefined): string {
  return lockTimeoutMs === undefined
    ? 'for as long as it stays (no lockTimeout is set)'
    : `until lockTimeout (${lockTimeoutMs} ms) ends the wait and fails the table`;
}

/** What to do about it: who settles it, and how long the run would wait meanwhile. */
function remedy(p: PreparedPlan, lockTimeoutMs: number | undefined): string {
  if (p.leftByPgcopy) {
    return 'the next run settles it (commits or rolls it back) before its tables start';
  }
  if (p.tables.every((t) => t.waits === 'none')) return 'it only reads them';
  const waiting = p.tables.some((t) => t.waits === 'table')
    ? 'the run waits for it'
    : 'a load writing one of its rows waits for it';
  return `it keeps its locks until an administrator runs COMMIT PREPARED ${quoteLiteral(p.gid)} or ROLLBACK PREPARED ${quoteLiteral(p.gid)}; ${waiting} ${waitLimit(lockTimeoutMs)}`;
}

/** One line for a prepared transaction: who, which tables in which lock modes, and what to do. */
export function preparedLine(p: PreparedPlan, lockTimeoutMs: number | undefined): string {
  const tables = p.tables
    .map((t) => `${t.table} (${t.modes.join(', ')}: ${WAIT_WORDS[t.waits]})`)
    .join(', ');
  return `${preparedName(p)} locks ${tables}: ${remedy(p, lockTimeoutMs)}`;
}

/**
 * A table's warning or note about the prepared transactions locking it: someone else's that the
 * load waits for is a warning; pgcopy's own, or one holding rows only, a note.
 */
export function preparedTableMessages(
  table: string,
  mode: Mode,
  prepared: readonly PreparedPlan[],
  lockTimeoutMs: number | undefined,
): { warnings: string[]; notes: string[] } {
  const warnings: string[] = [];
  const notes: string[] = [];
  for (const p of prepared) {
    const lock = p.tables.find((t) => t.table === table);
    if (!lock || lock.waits === 'none') continue;
    const holds = `prepared transaction "${p.gid}" holds ${lock.modes.join(', ')} on it`;
    if (p.leftByPgcopy) {
      notes.push(
        `${holds} (pgcopy's own, left by an earlier run): the next run settles it before its tables start`,
      );
    } else if (lock.waits === 'table') {
      warnings.push(
        `${holds} (someone else's, owner ${p.owner}): the ${mode} waits for it ${waitLimit(lockTimeoutMs)}; an administrator ends it with COMMIT PREPARED or ROLLBACK PREPARED`,
      );
    } else {
      notes.push(
        `${holds} (someone else's, owner ${p.owner}): when the ${mode} writes a row the transaction wrote or locked (the same key), it waits for it ${waitLimit(lockTimeoutMs)}`,
      );
    }
  }
  return { warnings, notes };
}
