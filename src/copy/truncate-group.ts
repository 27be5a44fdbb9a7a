import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { asUserCode, userPathLocalSql } from '../db/search-path.js';
import { quotedNames } from '../plan/name-list.js';
import type { TablePlan } from '../plan/types.js';
import type { TableError, TableResult } from '../report/events.js';
import { ConnectionWatch, PairStep } from './connection-watch.js';
import { copyPair, refOf, resultOf, type PairContext } from './copy-pair.js';
import { backoffMs, type RetryPolicy } from './retry.js';
import { SnapshotCoordinator } from './snapshot.js';
import type { SnapshotHolder } from './snapshot-holder.js';
import { STAGING_TABLE, createStagingSql, groupTruncateSql } from './sql.js';
import { isKeyedMode } from '../plan/types.js';
import { sqlstateOf } from '../errors.js';
import { orphanReason, unloadedParent } from '../plan/orphan-rules.js';
import { OUTCOME_UNKNOWN, toTableError } from './table-error.js';
import type { PairRecord } from '../ledger/pair-record.js';

/** What a group's copy needs from the run: a pair's context but its snapshot, and the retries. */
export interface GroupContext extends Omit<
  PairContext,
  'snapshot' | 'group' | 'sharedRead' | 'ledger'
> {
  readonly snapshots: SnapshotHolder;
  readonly policy: RetryPolicy;
  /** How each member records itself in the ledger, in the group's transaction. */
  readonly ledger?: ((member: TablePlan) => PairRecord | undefined) | undefined;
}

const listed = (members: readonly TablePlan[]): string =>
  quotedNames(members.map((m) => m.targetTable));

/** Whether a group replaces its tables (truncate mode) or loads a foreign-key cycle. */
const truncates = (members: readonly TablePlan[]): boolean =>
  members.every((m) => m.mode === 'truncate');

/** Why a member was not copied when another member, or the group's own statements, failed. */
export function groupError(members: readonly TablePlan[], failed: string): TableError {
  const kind = truncates(members) ? 'truncate group' : 'load group';
  const verb = truncates(members) ? 'replaced' : 'loaded';
  return {
    code: 'GROUP_ROLLED_BACK',
    message: `not copied: ${failed}, and its ${kind} ${listed(members)} is ${verb} as a whole or not at all (rolled back)`,
  };
}

/**
 * disableTriggers: a member whose parent outside the group did not load must not load, and the
 * group loads whole or not at all. Gives each member's error then; undefined when none is orphaned.
 */
export function orphanedGroup(
  members: readonly TablePlan[],
  notLoaded: (target: string, table: string) => boolean,
): ((m: TablePlan) => TableError) | undefined {
  for (const m of members) {
    const parent = unloadedParent(m, (name) => notLoaded(m.targetName, name));
    if (parent === undefined) continue;
    const reason = orphanReason(parent);
    return (other) =>
      other === m
        ? { code: 'PARENT_NOT_LOADED', message: reason }
        : groupError(members, `"${m.targetTable}" is ${reason}`);
  }
  return undefined;
}

/**
 * The statements of each member's load: with disableTriggers on some members only, each sets its
 * own (replica, or origin again after one that had it; otherwise the group's BEGIN did). upsert
 * and insert-new stage their rows: the staging table is dropped only at the group's COMMIT, so a
 * member drops an earlier member's first.
 */
function memberSetup(members: readonly TablePlan[]): (m: TablePlan) => string[] {
  const mixed = members.some((m) => m.disableTriggers) && !members.every((m) => m.disableTriggers);
  return (m) => [
    ...(mixed
      ? [`SET LOCAL session_replication_role = ${m.disableTriggers ? 'replica' : 'origin'}`]
      : []),
    ...(isKeyedMode(m.mode) ? [`DROP TABLE IF EXISTS ${STAGING_TABLE}`, createStagingSql(m)] : []),
  ];
}

interface Attempt {
  readonly results: TableResult[];
  /** The failure that rolled the group back: a member's result, or the group's own statements'. */
  readonly failure?: TableError;
  readonly failed?: string;
}

async function attemptGroup(
  members: readonly TablePlan[],
  ctx: GroupContext,
  snapshot: SnapshotCoordinator,
): Promise<Attempt> {
  const [first] = members as [TablePlan, ...TablePlan[]];
  const signal = ctx.signal ? { signal: ctx.signal } : {};
  const results: TableResult[] = [];
  let client: pg.Client | undefined;
  let usable = false;
  let watch: ConnectionWatch | undefined;
  // Only the group's COMMIT leaves an outcome to be known (a drop there is `unknown`).
  const step = new PairStep();
  try {
    client = await ctx.connections.targetClient(first.targetName, signal);
    watch = new ConnectionWatch(client);
    await ctx.hooks?.prepareTarget?.(client, first);
    const replica = members.every((m) => m.disableTriggers);
    // ON TRUNCATE and deferred triggers run the target's own code: under its configured path.
    const userCode = members.some((m) => m.runsUserCode === true);
    // The group's own statements lock every member (TRUNCATE): watched like a member's load.
    const lockWatch = ctx.hooks?.watchTarget?.(client, first);
    await client
      .query(
        [
          'BEGIN',
          ...(replica ? ['SET LOCAL session_replication_role = replica'] : []),
          // A foreign-key cycle: its deferrable keys are checked at the COMMIT, once every table is in.
          ...(members.some((m) => m.deferredChecks) ? ['SET CONSTRAINTS ALL DEFERRED'] : []),
          // A truncate group empties its tables in one statement; a cycle's group only loads.
          ...(truncates(members) ? asUserCode(client, userCode, [groupTruncateSql(members)]) : []),
        ].join('; '),
      )
      .finally(() => lockWatch?.[Symbol.dispose]());
    const setup = memberSetup(members);
    for (const member of members) {
      const result = await copyPair(member, {
        ...ctx,
        snapshot,
        ledger: ctx.ledger?.(member),
        group: { target: client, setup: setup(member) },
      });
      results.push(result);
      if (result.error) {
        usable = await client.query('ROLLBACK').then(
          () => true,
          () => false,
        );
        return { results, failure: result.error, failed: `"${member.targetTable}" failed` };
      }
    }
    step.at('committing');
    await client.query(userCode ? `${userPathLocalSql(client)}; COMMIT` : 'COMMIT');
    usable = true;
    return { results };
  } catch (thrown) {
    let explained = thrown;
    // A lock timeout on the TRUNCATE: once rolled back, the live session can say who holds it.
    if (sqlstateOf(thrown) === '55P03' && client) {
      usable = await client.query('ROLLBACK').then(
        () => true,
        () => false,
      );
      explained = (await ctx.hooks?.explainFailure?.(thrown, client, members)) ?? thrown;
    }
    const error = await toTableError(explained, {
      signal: ctx.signal,
      source: ctx.source,
      target: ctx.target,
      step,
      ...(watch ? { watches: { target: watch } } : {}),
      redact: members.some((m) => m.redactValues),
    });
    return {
      results,
      failure: error,
      failed: `the group's own statements (BEGIN, ${truncates(members) ? 'TRUNCATE, ' : ''}COMMIT) failed: ${error.message}`,
    };
  } finally {
    watch?.[Symbol.dispose]();
    if (client) await ctx.connections.release(client, usable);
  }
}

/** A member left out of the attempt, or rolled back with the group: nothing of it was kept. */
function notKept(
  member: TablePlan,
  members: readonly TablePlan[],
  attempt: Attempt,
  attempts: number,
): TableResult {
  const own = attempt.results.find((r) => r.table === member.targetTable);
  if (own?.error) {
    return {
      ...own,
      error: {
        ...own.error,
        message: `${own.error.message}; ${groupError(members, 'this table failed').message}`,
      },
      attempts,
    };
  }
  const error = groupError(members, attempt.failed ?? 'the group failed');
  const base = resultOf(member, {
    rows: 0,
    bytes: 0,
    seconds: own?.seconds ?? 0,
    warnings: member.warnings,
    error,
  });
  const rolledBack = own ? { rows: own.rows, bytes: own.bytes } : undefined;
  return {
    ...base,
    ...(rolledBack && rolledBack.rows + rolledBack.bytes > 0 ? { rolledBack } : {}),
    attempts,
  };
}

/**
 * Replaces a truncate group's tables together on one connection: BEGIN, one TRUNCATE of them all,
 * each member's load in order (copy-pair, verification included), then one COMMIT; a load group
 * (a foreign-key cycle outside truncate mode) the same without the TRUNCATE. The first
 * failure rolls the whole group back. A transient failure runs the whole group again, as a table's
 * would be. Returns each member's result, in the members' order; emits table-start and retries.
 */
export async function copyTruncateGroup(
  members: readonly TablePlan[],
  ctx: GroupContext,
): Promise<TableResult[]> {
  const [first] = members as [TablePlan, ...TablePlan[]];
  const most = ctx.policy.retries + 1;
  for (const m of members) {
    ctx.emit({
      type: 'table-start',
      at: ctx.now().toISOString(),
      ref: refOf(m),
      format: m.format,
      mode: m.mode,
      estimatedRows: m.estimatedRows,
      estimatedBytes: m.estimatedBytes,
    });
  }
  for (let n = 1; ; n += 1) {
    const snapshot = await ctx.snapshots.current();
    if (!(snapshot instanceof SnapshotCoordinator)) {
      return members.map((m) => ({
        ...resultOf(m, { rows: 0, bytes: 0, seconds: 0, warnings: m.warnings, error: snapshot }),
        attempts: n - 1,
      }));
    }
    const attempt = await attemptGroup(members, ctx, snapshot);
    const error = attempt.failure;
    if (!error) return attempt.results.map((r) => ({ ...r, attempts: n }));
    if (error.code === OUTCOME_UNKNOWN && attempt.results.length === members.length) {
      // The group's COMMIT was sent: every member's rows are in, or none is.
      return attempt.results.map((r) => ({
        ...r,
        status: 'unknown' as const,
        error: { ...error, message: `the group's COMMIT: ${error.message}` },
        attempts: n,
      }));
    }
    const retryable = error.transient === true || ctx.snapshots.isLost(snapshot);
    if (!retryable || n >= most || ctx.signal?.aborted) {
      return members.map((m) => notKept(m, members, attempt, n));
    }
    const delayMs = backoffMs(n, ctx.policy);
    const failing =
      members.find((m) => attempt.results.some((r) => r.error && r.table === m.targetTable)) ??
      first;
    ctx.emit({
      type: 'table-retry',
      at: ctx.now().toISOString(),
      ref: refOf(failing),
      attempt: n + 1,
      attempts: most,
      delayMs,
      error,
    });
    try {
      await sleep(delayMs, undefined, ctx.signal ? { signal: ctx.signal } : {});
    } catch {
      return members.map((m) => notKept(m, members, attempt, n));
    }
  }
}
