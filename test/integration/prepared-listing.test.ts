import { dirname } from 'node:path';
import { postgres as pg13Postgres } from 'pg13';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { debianPg15BinDir } from '../../src/demo/binaries.js';
import type { LocalPostgres } from '../../src/demo/local-postgres.js';
import { readPreparedLocks } from '../../src/db/prepared-locks.js';
import { cli, workDir } from '../support/cli.js';
import { endpointOf } from '../support/config.js';
import { connect, servers, sql, uniqueName } from '../support/db.js';
import { startPreparingTarget } from '../support/prepared-target.js';
import type { ServerInfo } from '../support/server-info.js';

/**
 * `pgcopy plan` and `pgcopy check` list the prepared transactions that hold locks on the target
 * tables they cover: someone else's, which the run would wait for until lockTimeout, and pgcopy's
 * own, which its next run settles.
 */

const schema = uniqueName('PreparedListing');
const q = `"${schema}"`;
const s = servers();

/** Every table of the test; a prepared transaction of its own locks each but t_free. */
const TABLES = ['t_share', 't_rows', 't_read', 't_own', 't_excl', 't_part', 't_free'];

const CREATE = `CREATE SCHEMA ${q};
  ${TABLES.filter((t) => t !== 't_part')
    .map((t) => `CREATE TABLE ${q}.${t} (id int PRIMARY KEY, v text);`)
    .join('\n')}
  CREATE TABLE ${q}.t_part (id int PRIMARY KEY, v text) PARTITION BY RANGE (id);
  CREATE TABLE ${q}.t_part_1 PARTITION OF ${q}.t_part FOR VALUES FROM (0) TO (1000);`;

/** Each prepared transaction of the test: its GID and what it did before PREPARE TRANSACTION. */
function preparedTransactions(): [gid: string, statement: string][] {
  const tag = schema.toLowerCase();
  return [
    [`other_share_${tag}`, `LOCK TABLE ${q}.t_share IN SHARE MODE`],
    [`other_rows_${tag}`, `INSERT INTO ${q}.t_rows VALUES (7, 'other')`],
    [`other_read_${tag}`, `SELECT FROM ${q}.t_read`],
    // As the parts of a split table are named: pgcopy_<run>_x<xid>_<table>_<part>.
    [`pgcopy_0123abcd_x1_t_own_1`, `INSERT INTO ${q}.t_own VALUES (7, 'part')`],
    [`other_excl_${tag}`, `LOCK TABLE ${q}.t_excl IN ACCESS EXCLUSIVE MODE`],
    // A lock on a partition only counts for its partitioned table.
    [`other_part_${tag}`, `LOCK TABLE ${q}.t_part_1 IN EXCLUSIVE MODE`],
  ];
}

/** Prepares the test's transactions on `server`, one after the other (oldest first). */
async function prepareAll(server: ServerInfo): Promise<void> {
  for (const [gid, statement] of preparedTransactions()) {
    const client = await connect(server);
    try {
      await client.query(`BEGIN; ${statement}; PREPARE TRANSACTION '${gid}'`);
    } finally {
      await client.end();
    }
  }
}

/** Rolls back whichever of the test's prepared transactions are still there. */
async function rollbackAll(server: ServerInfo): Promise<void> {
  const gids = preparedTransactions().map(([gid]) => gid);
  const { rows } = await sql(server, `SELECT gid FROM pg_prepared_xacts WHERE gid = ANY ($1)`, [
    gids,
  ]);
  for (const { gid } of rows as { gid: string }[]) {
    await sql(server, `ROLLBACK PREPARED '${gid}'`);
  }
}

let own: LocalPostgres;
let target: ServerInfo;

beforeAll(async () => {
  ({ server: own, info: target } = await startPreparingTarget('prepared-listing-target', {
    maxPrepared: 10,
  }));
  await sql(s.source, CREATE);
  await sql(target, CREATE);
  await prepareAll(target);
}, 60_000);

afterAll(async () => {
  try {
    await rollbackAll(target);
  } finally {
    await own.stop();
    await sql(s.source, `DROP SCHEMA ${q} CASCADE`);
  }
});

function config(mode: string, lockTimeout?: string): Record<string, unknown> {
  return {
    source: endpointOf(s.source, schema),
    targets: [{ name: 'db_1', ...endpointOf(target, schema), tables: TABLES }],
    options: { mode, ...(lockTimeout === undefined ? {} : { lockTimeout }) },
  };
}

async function command(
  argv: string[],
  raw: Record<string, unknown>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const work = await workDir(raw);
  try {
    return await cli([...argv, '-c', work.file], { signal: AbortSignal.timeout(30_000) });
  } finally {
    await work.cleanup();
  }
}

const PREPARED_AT = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) as unknown;
const SECONDS = expect.any(Number) as unknown;

/** The JSON entry of a prepared transaction of the test's. */
function entry(
  gid: string,
  tables: { table: string; modes: string[]; waits: string }[],
): Record<string, unknown> {
  return {
    gid,
    owner: target.user,
    database: 'postgres',
    preparedAt: PREPARED_AT,
    seconds: SECONDS,
    leftByPgcopy: gid.startsWith('pgcopy_'),
    tables,
  };
}

describe('plan lists the prepared transactions locking planned tables', () => {
  it('bug: a prepared transaction blocks a planned table unseen: plan --json lists each with its tables, and whether the append waits for it', async () => {
    const { code, stdout, stderr } = await command(['plan', '--json'], config('append', '2s'));
    expect(stderr).toBe('');
    // Warnings, not errors: the tables may be free by the time the run comes.
    expect(code).toBe(0);
    const plan = JSON.parse(stdout) as {
      targets: {
        prepared: unknown[];
        tables: { target: string; warnings: string[]; notes: string[] }[];
      }[];
    };
    const [gShare, gRows, gRead, gOwn, gExcl, gPart] = preparedTransactions().map(([g]) => g);
    expect(plan.targets[0]?.prepared).toEqual([
      entry(gShare as string, [{ table: 't_share', modes: ['ShareLock'], waits: 'table' }]),
      entry(gRows as string, [{ table: 't_rows', modes: ['RowExclusiveLock'], waits: 'rows' }]),
      entry(gRead as string, [{ table: 't_read', modes: ['AccessShareLock'], waits: 'none' }]),
      entry(gOwn as string, [{ table: 't_own', modes: ['RowExclusiveLock'], waits: 'rows' }]),
      entry(gExcl as string, [{ table: 't_excl', modes: ['AccessExclusiveLock'], waits: 'table' }]),
      entry(gPart as string, [{ table: 't_part', modes: ['ExclusiveLock'], waits: 'table' }]),
    ]);
    const byTable = new Map(plan.targets[0]?.tables.map((t) => [t.target, t]));
    const warned = (gid: string, mode: string): string =>
      `prepared transaction "${gid}" holds ${mode} on it (someone else's, owner ${target.user}): the append waits for it until lockTimeout (2000 ms) ends the wait and fails the table; an administrator ends it with COMMIT PREPARED or ROLLBACK PREPARED`;
    expect(byTable.get('t_share')?.warnings).toEqual([warned(gShare as string, 'ShareLock')]);
    expect(byTable.get('t_excl')?.warnings).toEqual([
      warned(gExcl as string, 'AccessExclusiveLock'),
    ]);
    expect(byTable.get('t_part')?.warnings).toEqual([warned(gPart as string, 'ExclusiveLock')]);
    expect(byTable.get('t_rows')?.warnings).toEqual([]);
    expect(byTable.get('t_rows')?.notes).toContain(
      `prepared transaction "${gRows}" holds RowExclusiveLock on it (someone else's, owner ${target.user}): when the append writes a row the transaction wrote or locked (the same key), it waits for it until lockTimeout (2000 ms) ends the wait and fails the table`,
    );
    expect(byTable.get('t_own')?.warnings).toEqual([]);
    expect(byTable.get('t_own')?.notes).toContain(
      `prepared transaction "${gOwn}" holds RowExclusiveLock on it (pgcopy's own, left by an earlier run): the next run settles it before its tables start`,
    );
    for (const table of ['t_read', 't_free']) {
      expect(byTable.get(table), table).toMatchObject({ warnings: [], notes: [] });
    }
  });

  it('the readable plan says who holds what, and what ends it', async () => {
    const { code, stdout } = await command(['plan'], config('append'));
    expect(code).toBe(0);
    const [gShare, , gRead, gOwn] = preparedTransactions().map(([g]) => g);
    const who = (gid: string, whose: string): string =>
      `prepared transaction "${gid}" \\(${whose}; owner ${target.user}, database postgres, prepared \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z, \\d+ s ago\\)`;
    expect(stdout).toMatch(
      new RegExp(
        `\\n {2}⏸ ${who(gShare as string, "someone else's")} locks t_share \\(ShareLock: the load waits for it\\): it keeps its locks until an administrator runs COMMIT PREPARED '${gShare}' or ROLLBACK PREPARED '${gShare}'; the run waits for it for as long as it stays \\(no lockTimeout is set\\)\\n`,
      ),
    );
    expect(stdout).toMatch(
      new RegExp(
        `\\n {2}⏸ ${who(gRead as string, "someone else's")} locks t_read \\(AccessShareLock: the load does not wait for it\\): it only reads them\\n`,
      ),
    );
    expect(stdout).toMatch(
      new RegExp(
        `\\n {2}⏸ ${who(gOwn as string, "pgcopy's own, left by an earlier run")} locks t_own \\(RowExclusiveLock: rows it wrote or locked: a load writing one of them waits for it\\): the next run settles it \\(commits or rolls it back\\) before its tables start\\n`,
      ),
    );
    expect(stdout).toContain(`  ⚠ t_share: prepared transaction "${gShare}" holds ShareLock on it`);
  });

  it('truncate waits for any lock: every table a prepared transaction locks is warned of', async () => {
    const { code, stdout } = await command(['plan', '--json'], config('truncate'));
    expect(code).toBe(0);
    const plan = JSON.parse(stdout) as {
      targets: {
        prepared: { gid: string; tables: { waits: string }[] }[];
        tables: { target: string; warnings: string[] }[];
      }[];
    };
    const waits = plan.targets[0]?.prepared.map((p) => p.tables.map((t) => t.waits)).flat();
    expect(waits).toEqual(['table', 'table', 'table', 'table', 'table', 'table']);
    const warned = plan.targets[0]?.tables
      .filter((t) => t.warnings.some((w) => w.startsWith('prepared transaction')))
      .map((t) => t.target);
    // pgcopy's own is settled by the run; t_free is locked by nobody.
    expect(warned).toEqual(['t_share', 't_rows', 't_read', 't_excl', 't_part']);
  });
});

describe('check lists the prepared transactions of each target database', () => {
  it('bug: a prepared transaction blocks a checked table unseen: check counts them, names those locking its tables, and fails on those the load waits for', async () => {
    const { code, stdout } = await command(['check'], config('append', '2s'));
    expect(code).toBe(1);
    const [gShare, , , , gExcl, gPart] = preparedTransactions().map(([g]) => g);
    expect(stdout).toContain(
      "  prepared    6 prepared transaction(s) in the database (1 of them pgcopy's own, settled by its next run); 6 lock checked tables:\n",
    );
    const failed = stdout.slice(stdout.indexOf('check failed:'));
    const problem = (gid: string, mode: string, table: string): RegExp =>
      new RegExp(
        `  - db_1: prepared transaction "${gid}" \\(someone else's; owner ${target.user}, database postgres, prepared [^)]+, \\d+ s ago\\) holds ${mode} on ${schema}\\.${table}: its load waits for it until lockTimeout \\(2000 ms\\) ends the wait and fails the table; an administrator ends it with COMMIT PREPARED or ROLLBACK PREPARED '${gid}'\\n`,
      );
    expect(failed).toMatch(problem(gShare as string, 'ShareLock', 't_share'));
    expect(failed).toMatch(problem(gExcl as string, 'AccessExclusiveLock', 't_excl'));
    expect(failed).toMatch(problem(gPart as string, 'ExclusiveLock', 't_part'));
    // Rows only, a read, and pgcopy's own: listed, not a problem.
    expect(failed.match(/prepared transaction/g)).toHaveLength(3);
    // Not a privilege: the privileges are all there.
    expect(stdout).toContain('  privileges  ok (7 tables)');
  });

  it('check --json carries them per target endpoint', async () => {
    const { stdout } = await command(['check', '--json'], config('truncate'));
    const report = JSON.parse(stdout) as {
      endpoints: {
        name: string;
        prepared?: { total: number; pgcopy: number; locking: unknown[] };
      }[];
    };
    const db1 = report.endpoints.find((e) => e.name === 'db_1');
    expect(db1?.prepared).toMatchObject({ total: 6, pgcopy: 1 });
    expect(db1?.prepared?.locking).toHaveLength(6);
    expect(report.endpoints.find((e) => e.name === 'source')?.prepared).toBeUndefined();
  });
});

describe('the prepared transactions locking tables, on every server version', () => {
  it('reads them alike on PostgreSQL 13, 15 and 17', async () => {
    const client17 = await connect(target);
    const on17 = await readPreparedLocks(client17, schema, TABLES).finally(() => client17.end());
    expect(on17.map((p) => p.gid)).toEqual(preparedTransactions().map(([gid]) => gid));
    const binDirs: [string, string | undefined][] = [
      ['13', dirname(pg13Postgres)],
      ['15', debianPg15BinDir()],
    ];
    for (const [version, binDir] of binDirs) {
      if (binDir === undefined) continue;
      const { server, info } = await startPreparingTarget(`prepared-listing-${version}`, {
        binDir,
        maxPrepared: 10,
      });
      try {
        await sql(info, CREATE);
        await prepareAll(info);
        const client = await connect(info);
        try {
          const found = await readPreparedLocks(client, schema, TABLES);
          expect(
            found.map((p) => [p.gid, p.owner, p.database, p.leftByPgcopy, p.tables]),
            version,
          ).toEqual(
            preparedTransactions().map(([gid], i) => [
              gid,
              info.user,
              'postgres',
              gid.startsWith('pgcopy_'),
              [
                [{ table: 't_share', modes: ['ShareLock'] }],
                [{ table: 't_rows', modes: ['RowExclusiveLock'] }],
                [{ table: 't_read', modes: ['AccessShareLock'] }],
                [{ table: 't_own', modes: ['RowExclusiveLock'] }],
                [{ table: 't_excl', modes: ['AccessExclusiveLock'] }],
                [{ table: 't_part', modes: ['ExclusiveLock'] }],
              ][i],
            ]),
          );
        } finally {
          await client.end();
          await rollbackAll(info);
        }
      } finally {
        await server.stop();
      }
    }
  }, 60_000);
});
