import { setMaxListeners } from 'node:events';
import type pg from 'pg';
import { CopyError, sqlstateOf } from '../../errors.js';
import { pairName, type TablePlan } from '../../plan/types.js';
import type { TableError, TableResult } from '../../report/events.js';
import { ConnectionWatch, PairStep } from '../connection-watch.js';
import { copyPair, refOf, resultOf, type PairContext } from '../copy-pair.js';
import { destinationSetup } from '../destination.js';
import { advanceSequences } from '../sequences.js';
import { streamStrategy } from '../strategies/stream.js';
import { OUTCOME_UNKNOWN, UNKNOWN_NEXT, toTableError } from '../table-error.js';
import type { WorkerConnections } from '../worker-connections.js';
import {
  attemptPrefix,
  deciderXid,
  partGid,
  prepare,
  settlePrepared,
  type Settled,
} from './prepared.js';
import { partPlans } from './part-plans.js';
import { recordStatements } from '../../ledger/pair-record.js';
import type { WaitListener } from '../lock-waits.js';

export interface SplitContext extends Omit<PairContext, 'connections'> {
  /** One worker's connections per part: a split table takes that many of the run's slots. */
  readonly connections: readonly WorkerConnections[];
  /** Names the run in the parts' prepared transactions. */
  readonly runId: string;
}

/** One part's clients, and whether each may go back to its worker. */
interface Part {
  readonly connections: WorkerConnections;
  source?: pg.Client;
  target?: pg.Client;
  sourceUsable: boolean;
  targetUsable: boolean;
  readonly watches: { source?: ConnectionWatch; target?: ConnectionWatch };
  /** The lock-wait monitor's watch of the target session, while the part copies. */
  lockWatch?: Disposable | undefined;
  /** Bytes of COPY data this part has passed so far. */
  bytes: number;
}

/** The first part committed but not every prepared one (a connection lost while settling). */
function notTogether(plan: TablePlan, settled: Settled, expected: number): CopyError {
  return new CopyError(
    pairName(plan),
    `${settled.committed.length} of ${expected} prepared parts committed with the first one; the next run commits the others (${settled.pending.join(', ')})`,
  );
}

/**
 * Copies one big table in parts, each on its own pair of connections and in the run's snapshot,
 * reading its own block range or key range. All or nothing, as one stream: the parts load in
 * transactions of their own; every part but the first is then prepared (two-phase commit), the
 * first commits, and the prepared ones follow its outcome. A failure before that commit rolls
 * every part back. Never throws; the result is copyPair's.
 */
export async function copySplit(plan: TablePlan, ctx: SplitContext): Promise<TableResult> {
  const started = ctx.now().getTime();
  const seconds = (): number => (ctx.now().getTime() - started) / 1000;
  const ref = refOf(plan);
  const step = new PairStep();
  const parts: Part[] = ctx.connections.map((connections) => ({
    connections,
    sourceUsable: false,
    targetUsable: false,
    watches: {},
    bytes: 0,
  }));
  const [firstPart] = parts as [Part, ...Part[]];
  // The first part that fails stops the others: its error is the table's.
  const stop = new AbortController();
  const signal = ctx.signal ? AbortSignal.any([ctx.signal, stop.signal]) : stop.signal;
  // Each part hangs its connects and its pipeline on it at once.
  setMaxListeners(4 * ctx.connections.length + 2, signal);
  // The name prefix of this attempt's prepared parts, once they have one: a wait on a prepared
  // transaction of that name is a wait on a sibling.
  let attempt: string | undefined;
  let conflict: CopyError | undefined;
  const onWait = siblingWait(
    parts,
    () => attempt,
    (waiter, holder) => {
      conflict ??= partsConflict(plan, waiter, holder);
      failedPart ??= parts[waiter - 1];
      stop.abort(conflict);
    },
  );
  let failedPart: Part | undefined;
  let lastProgress = 0;
  let rows = 0;
  let error: TableError | null = null;
  // Set once the first part's COMMIT is sent: from then on the table may be committed, and a
  // new attempt could copy its rows twice.
  let decided = false;
  const warnings = new Set(plan.warnings);
  const bytes = (): number => parts.reduce((sum, p) => sum + p.bytes, 0);
  try {
    ctx.signal?.throwIfAborted();
    const destination = destinationSetup(plan);
    step.at('joining the snapshot and starting the target transactions');
    await allOrFirstError(
      parts.flatMap((part) => [
        part.connections.sourceClient({ signal }).then(async (client) => {
          part.source = client;
          part.watches.source = new ConnectionWatch(client);
          await ctx.snapshot.join(client, {
            readOnly: true,
            local: plan.rowSecurity === 'apply' ? ['SET LOCAL row_security = on'] : [],
          });
        }),
        part.connections.targetClient(plan.targetName, { signal }).then(async (client) => {
          part.target = client;
          part.watches.target = new ConnectionWatch(client);
          await ctx.hooks?.prepareTarget?.(client, plan);
          part.lockWatch = ctx.hooks?.watchTarget?.(client, plan, onWait(part));
          await client.query(['BEGIN', ...destination.statements(client)].join('; '));
        }),
      ]),
    );
    const ready = parts as (Part & { source: pg.Client; target: pg.Client })[];
    const [first, ...others] = ready as [(typeof ready)[number], ...typeof ready];
    const [plans, xid] = await Promise.all([
      partPlans(first.source, plan, parts.length),
      deciderXid(first.target),
    ]);
    step.at(`copying ${pairName(plan)} from "${plan.sourceTable}" in ${parts.length} parts`);
    const loads = await allOrFirstError(
      ready.map((part, i) =>
        streamStrategy
          .load({
            plan: plans[i] as TablePlan,
            source: part.source,
            target: part.target,
            destination: destination.table,
            sourceSpec: ctx.source.spec,
            targetSpec: ctx.target.spec,
            snapshotId: ctx.snapshot.snapshotId,
            signal,
            onProgress: (sofar) => {
              part.bytes = sofar;
              const now = ctx.now().getTime();
              if (now - lastProgress < ctx.progressIntervalMs) return;
              lastProgress = now;
              ctx.emit({ type: 'table-progress', ref, bytes: bytes(), seconds: seconds() });
            },
          })
          .then(
            (loaded) => {
              part.bytes = loaded.bytes;
              return loaded;
            },
            (thrown: unknown) => {
              failedPart ??= part;
              stop.abort(thrown);
              throw thrown;
            },
          ),
      ),
    );
    rows = loads.reduce((sum, l) => sum + l.rows, 0);
    ctx.signal?.throwIfAborted();
    // Each part sees its own rows only; sequences never move back, so the last one to move a
    // sequence leaves it past the highest value of all the parts.
    for (const part of ready) {
      for (const w of (await advanceSequences(part.target, plan)).warnings) warnings.add(w);
    }
    step.at('preparing the parts');
    const prefix = attemptPrefix(ctx.runId, xid);
    attempt = prefix;
    const prepared = await Promise.allSettled(
      others.map((part, i) => prepare(part.target, partGid(prefix, plan.targetTable, i + 2))),
    );
    const refused = prepared.find((p) => p.status === 'rejected');
    step.at('committing');
    // The first part's COMMIT is the table's: the prepared parts follow its outcome.
    let committed: Promise<unknown>;
    if (refused) {
      committed = first.target
        .query('ROLLBACK')
        .then(() => Promise.reject(refused.reason as Error));
    } else {
      decided = true;
      // The ledger's row names the prepared parts: they commit when it does.
      const gids = others.map((_, i) => partGid(prefix, plan.targetTable, i + 2));
      const record = recordStatements(ctx.ledger, rows, gids);
      committed = first.target.query([...record, 'COMMIT'].join('; '));
    }
    const outcome = await committed.then(
      () => undefined,
      (thrown: unknown) => ({ thrown }),
    );
    // A part that prepared is idle, outside any transaction; else the first, rolled back by now.
    const settler = ready[prepared.findIndex((p) => p.status === 'fulfilled') + 1] as Part & {
      target: pg.Client;
    };
    const settled = await settlePrepared(settler.target, prefix);
    // A prepared part commits only after the first part did: all committed means the table did,
    // whatever the first COMMIT answered (its connection may have dropped after the commit).
    if (settled.committed.length < others.length) {
      // Every part rolled back, the first one's COMMIT refused by the server: nothing is in.
      if (outcome && sqlstateOf(outcome.thrown) && settled.rolledBack.length === others.length) {
        decided = false;
      }
      throw outcome ? outcome.thrown : notTogether(plan, settled, others.length);
    }
    for (const part of ready) part.targetUsable = true;
  } catch (thrown) {
    let explained: unknown = conflict ?? thrown;
    const failedTarget = (failedPart ?? firstPart).target;
    if (!conflict && sqlstateOf(thrown) === '55P03' && failedTarget) {
      // Every part rolled back first: the parts' own locks on the table are not the holder.
      await Promise.all(parts.map((part) => rollback(part.target)));
      explained = (await ctx.hooks?.explainFailure?.(thrown, failedTarget, plan)) ?? thrown;
    }
    error = await toTableError(explained, {
      signal: ctx.signal,
      source: ctx.source,
      target: ctx.target,
      step,
      watches: (failedPart ?? firstPart).watches,
      redact: plan.redactValues,
    });
    // A new attempt would collide the same way, and a decided table may have committed.
    if (decided || conflict) error = { ...error, transient: false };
    if (decided && !conflict && error.code !== OUTCOME_UNKNOWN) {
      error = {
        ...error,
        code: OUTCOME_UNKNOWN,
        message: `${error.message}; the table's first part was sent its COMMIT: whether its rows are in cannot be known here (${UNKNOWN_NEXT})`,
      };
    }
  } finally {
    await Promise.all(
      parts.map(async (part) => {
        part.lockWatch?.[Symbol.dispose]();
        part.watches.source?.[Symbol.dispose]();
        part.watches.target?.[Symbol.dispose]();
        // The sources only read: a rollback ends their snapshot transaction.
        if (part.source && !error) {
          part.sourceUsable = await part.source.query('ROLLBACK').then(
            () => true,
            () => false,
          );
        }
        await Promise.all([
          part.source ? part.connections.release(part.source, part.sourceUsable) : undefined,
          part.target ? part.connections.release(part.target, part.targetUsable) : undefined,
        ]);
      }),
    );
  }
  const read = { rows, bytes: bytes() };
  // An unknown outcome reports the rows sent: they are in, or none is.
  const kept = !error || error.code === OUTCOME_UNKNOWN;
  const result = resultOf(plan, {
    rows: kept ? read.rows : 0,
    bytes: kept ? read.bytes : 0,
    seconds: seconds(),
    warnings: [...warnings, ...(!error && rows === 0 ? ['zero rows copied'] : [])],
    error,
  });
  return !kept && read.rows + read.bytes > 0 ? { ...result, rolledBack: read } : result;
}

/**
 * The lock-wait listener of each part: a part waiting for a sibling part's transaction (its
 * session's, or its prepared one's) to end would wait for ever, since the sibling's transaction
 * ends only once every part has loaded. Reports it (`found`: waiting part, holding part, both from 1)
 * and has the wait cancelled.
 */
function siblingWait(
  parts: readonly Part[],
  attempt: () => string | undefined,
  found: (waiter: number, holder: string) => void,
): (part: Part) => WaitListener {
  const pidOf = (client: pg.Client | undefined): number | null | undefined =>
    (client as unknown as { processID?: number | null } | undefined)?.processID;
  return (part) =>
    ({ awaited, holders }) => {
      // Waiting for a sibling's transaction to end (a row it wrote): that never happens before
      // every part has loaded. Other waits on a sibling (extending the table) pass.
      if (awaited !== 'transactionid') return false;
      const prefix = attempt();
      const sibling = holders.flatMap((h): string[] => {
        if (h.prepared) {
          return prefix !== undefined && h.prepared.gid.startsWith(prefix)
            ? [`the prepared part ${h.prepared.gid}`]
            : [];
        }
        const index = parts.findIndex((p) => p !== part && pidOf(p.target) === h.pid);
        return index < 0 ? [] : [`part ${index + 1}`];
      })[0];
      if (sibling === undefined) return false;
      found(parts.indexOf(part) + 1, sibling);
      return true;
    };
}

function partsConflict(plan: TablePlan, waiter: number, holder: string): CopyError {
  return new CopyError(
    pairName(plan),
    `the parts of ${pairName(plan)} conflict on a unique key or constraint of the target: part ${waiter} waited on a lock ${holder} holds until every part has loaded, so neither could finish; every part was rolled back (split: false on the table copies it in one stream)`,
  );
}

async function rollback(client: pg.Client | undefined): Promise<void> {
  await client?.query('ROLLBACK').catch(() => undefined);
}

/**
 * How a table is copied: in parts when the pool gave it other workers' connections (`more`)
 * besides its own, else as one stream.
 */
export function copierOf(
  more: readonly WorkerConnections[],
  runId: string,
): (plan: TablePlan, ctx: PairContext) => Promise<TableResult> {
  if (more.length === 0) return copyPair;
  return (plan, ctx) => copySplit(plan, { ...ctx, connections: [ctx.connections, ...more], runId });
}

/**
 * Waits for every promise; rejects with the first rejection in time, once all have settled, so
 * that no part is still using its clients when they are released.
 */
async function allOrFirstError<T>(promises: readonly Promise<T>[]): Promise<T[]> {
  let first: { error: unknown } | undefined;
  const outcomes = await Promise.all(
    promises.map((p) =>
      p.catch((error: unknown) => {
        first ??= { error };
        return undefined;
      }),
    ),
  );
  if (first) throw first.error;
  return outcomes as T[];
}
