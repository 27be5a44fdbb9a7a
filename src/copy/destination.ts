import { REDACTED } from '../report/redact-values.js';
import type pg from 'pg';
import { asUserCode } from '../db/search-path.js';
import { CopyError } from '../errors.js';
import { isKeyedMode, pairName, type TablePlan } from '../plan/types.js';
import type { RowChanges } from '../report/events.js';
import { quoteIdent } from '../db/quote.js';
import {
  STAGING_TABLE,
  createStagingSql,
  repeatedKeySql,
  targetName,
  truncateSql,
  writeStagedSql,
} from './sql.js';

/** The statements that ready a target for a load, and the table the rows go into. */
export interface DestinationSetup {
  /**
   * Run in the table's transaction on one target session; none of them returns anything pgcopy
   * reads. The TRUNCATE fires the target's TRUNCATE triggers: it runs under the session's
   * configured search_path (see withUserSearchPath).
   */
  statements(target: pg.ClientBase): readonly string[];
  readonly table: string;
}

/**
 * Readies the target side of a load in the table's transaction: user triggers off when asked
 * (this transaction only; the plan checked that the role may), the old rows gone in truncate mode,
 * a staging table in upsert and insert-new modes. copy-pair sends these with the BEGIN, in one
 * round trip.
 */
export function destinationSetup(plan: TablePlan): DestinationSetup {
  const statements = (target: pg.ClientBase): string[] => [
    ...(plan.disableTriggers ? [`SET LOCAL session_replication_role = replica`] : []),
    ...(plan.mode === 'truncate'
      ? asUserCode(target, plan.runsUserCode === true, [truncateSql(plan)])
      : []),
    ...(isKeyedMode(plan.mode) ? [createStagingSql(plan)] : []),
  ];
  return { statements, table: isKeyedMode(plan.mode) ? STAGING_TABLE : targetName(plan) };
}

/** What the load wrote into the target: all its rows, or (upsert, insert-new) what ON CONFLICT did. */
export interface Written {
  readonly written: number;
  readonly changes?: RowChanges;
}

/** upsert and insert-new: moves the staged rows into the target and counts what happened to them. */
export async function closeDestination(
  target: pg.ClientBase,
  plan: TablePlan,
  rows: number,
): Promise<Written> {
  if (!isKeyedMode(plan.mode)) return { written: rows };
  const key = plan.conflictKey;
  if (!key) throw new CopyError(pairName(plan), `${plan.mode} without a conflict key`);
  await refuseRepeatedKeys(target, plan, key);
  const result = await target.query<{ inserted: string; updated: string }>(
    writeStagedSql(plan, key),
  );
  const inserted = Number(result.rows[0]?.inserted ?? 0);
  const updated = Number(result.rows[0]?.updated ?? 0);
  return {
    written: inserted + updated,
    changes: { inserted, updated, unchanged: rows - inserted - updated },
  };
}

/** Long values are cut in the message: the key is there to be found, not printed whole. */
const VALUE_CHARS = 64;

function keyValueText(value: string | null): string {
  if (value === null) return 'NULL';
  return value.length > VALUE_CHARS ? `${value.slice(0, VALUE_CHARS)}…` : value;
}

/**
 * Staged rows that repeat a key fail the table: ON CONFLICT would keep an arbitrary one of them
 * and count the others as unchanged (or, in upsert, fail only when the first of them changed a row).
 */
async function refuseRepeatedKeys(
  target: pg.ClientBase,
  plan: TablePlan,
  key: readonly string[],
): Promise<void> {
  // Three statements (SET, SELECT, RESET): pg returns one result each.
  const results = (await target.query(repeatedKeySql(plan, key))) as unknown as pg.QueryResult[];
  const found = results[1]?.rows[0] as
    { key: (string | null)[]; copies: string; keys: string } | undefined;
  if (!found) return;
  const keys = Number(found.keys);
  // With values redacted (data rules), the key's columns are named, its values are not.
  const values = plan.redactValues ? REDACTED : found.key.map(keyValueText).join(', ');
  throw new CopyError(
    pairName(plan),
    `${plan.mode}: the rows read hold key (${key.map(quoteIdent).join(', ')})=(${values}) ${found.copies} times (${keys} ${keys === 1 ? 'key repeats' : 'keys repeat'}); each key must name one row of ${targetName(plan)}`,
  );
}
