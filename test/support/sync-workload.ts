import type pg from 'pg';
import { validateConfig } from '../../src/config/validate.js';
import type { Config } from '../../src/config/types.js';
import { endpointOf } from './config.js';
import { connect, sql, tableDigest } from './db.js';
import type { ServerInfo } from './server-info.js';

/**
 * The tables `pgcopy sync`'s tests follow, and a pgbench-like write workload over them: inserts,
 * updates (some leaving a TOASTed column unchanged), deletes, a truncate now and then, and a
 * REPLICA IDENTITY FULL table without a key.
 */
export const SOURCE_TABLES = (q: string): string => `
  CREATE SCHEMA ${q};
  CREATE TABLE ${q}.accounts (id int PRIMARY KEY, name text, balance int, note text);
  ALTER TABLE ${q}.accounts ALTER COLUMN note SET STORAGE EXTERNAL;
  CREATE TABLE ${q}.events (id bigint PRIMARY KEY, kind text, payload text);
  CREATE TABLE ${q}.logfull (a int, b text);
  ALTER TABLE ${q}.logfull REPLICA IDENTITY FULL;
  INSERT INTO ${q}.accounts
    SELECT g, 'name ' || g, g, repeat(md5(g::text), 100) FROM generate_series(1, 1000) g;
  INSERT INTO ${q}.events SELECT g, 'kind ' || (g % 7), md5(g::text) FROM generate_series(1, 1000) g;
  INSERT INTO ${q}.logfull SELECT g, 'b ' || g FROM generate_series(1, 300) g;`;

/** db_1 takes every column but events.payload; db_2 renames accounts.name and leaves note out. */
export const TARGET_TABLES = {
  db_1: (q: string): string => `
    CREATE SCHEMA ${q};
    CREATE TABLE ${q}.accounts (id int PRIMARY KEY, name text, balance int, note text);
    CREATE TABLE ${q}.events (id bigint PRIMARY KEY, kind text);
    CREATE TABLE ${q}.logfull (a int, b text);`,
  db_2: (q: string): string => `
    CREATE SCHEMA ${q};
    CREATE TABLE ${q}.accounts (id int PRIMARY KEY, full_name text, balance int);
    CREATE TABLE ${q}.events (id bigint PRIMARY KEY, kind text, payload text);
    CREATE TABLE ${q}.logfull (a int, b text);`,
};

export const TABLES = {
  db_1: ['accounts', { name: 'events', columns: { exclude: ['payload'] } }, 'logfull'],
  db_2: [
    { name: 'accounts', columns: { exclude: ['note'], rename: { name: 'full_name' } } },
    'events',
    'logfull',
  ],
};

/** The config as a file would hold it (for the CLI), and validated (for the library). */
export function syncConfig(
  source: ServerInfo,
  targets: { db_1: ServerInfo; db_2: ServerInfo },
  schema: string,
  options: Record<string, unknown> = {},
  tables: { db_1: unknown[]; db_2: unknown[] } = TABLES,
): { raw: Record<string, unknown>; config: Config } {
  const raw = {
    source: endpointOf(source, schema),
    targets: (['db_1', 'db_2'] as const).map((name) => ({
      name,
      ...endpointOf(targets[name], schema),
      tables: tables[name],
    })),
    options: { mode: 'truncate', logDir: 'logs', ...options },
  };
  return { raw, config: validateConfig(raw) };
}

/** One source transaction of the workload; `i` makes its keys. */
export async function writeOnce(client: pg.ClientBase, q: string, i: number): Promise<void> {
  const id = 100_000 + i;
  await client.query(
    `BEGIN;
     INSERT INTO ${q}.accounts VALUES (${id}, 'new ${i}', ${i}, repeat(md5('${i}'), 100));
     UPDATE ${q}.accounts SET balance = balance + 1
      WHERE id = (SELECT id FROM ${q}.accounts ORDER BY md5(id::text || '${i}') LIMIT 1);
     UPDATE ${q}.accounts SET name = 'renamed ${i}', note = note || 'x'
      WHERE id = (SELECT id FROM ${q}.accounts ORDER BY md5(id::text || 'n${i}') LIMIT 1);
     DELETE FROM ${q}.accounts
      WHERE id = (SELECT id FROM ${q}.accounts ORDER BY md5(id::text || 'd${i}') LIMIT 1);
     INSERT INTO ${q}.events VALUES (${id}, 'kind ${i % 5}', md5('e${i}'));
     UPDATE ${q}.events SET kind = 'changed ${i}'
      WHERE id = (SELECT id FROM ${q}.events ORDER BY md5(id::text || '${i}') LIMIT 1);
     DELETE FROM ${q}.events
      WHERE id = (SELECT id FROM ${q}.events ORDER BY md5(id::text || 'd${i}') LIMIT 1);
     INSERT INTO ${q}.logfull VALUES (${id}, 'b ${i}');
     UPDATE ${q}.logfull SET b = b || '+'
      WHERE a = (SELECT a FROM ${q}.logfull ORDER BY md5(a::text || '${i}') LIMIT 1);
     DELETE FROM ${q}.logfull
      WHERE a = (SELECT a FROM ${q}.logfull ORDER BY md5(a::text || 'd${i}') LIMIT 1);
     ${i % 97 === 0 ? `TRUNCATE ${q}.events;` : ''}
     COMMIT`,
  );
}

/** Writes until stopped (concurrently with a sync); resolves with the transactions written. */
export function writeUntilStopped(
  server: ServerInfo,
  q: string,
  from: number,
): { stop: () => Promise<number> } {
  const state = { stopping: false };
  let written = 0;
  const done = (async () => {
    const client = await connect(server);
    try {
      while (!state.stopping) {
        await writeOnce(client, q, from + written);
        written += 1;
      }
    } finally {
      await client.end();
    }
  })();
  return {
    stop: async () => {
      state.stopping = true;
      await done;
      return written;
    },
  };
}

export async function writeMany(
  server: ServerInfo,
  q: string,
  from: number,
  count: number,
): Promise<void> {
  const client = await connect(server);
  try {
    for (let i = 0; i < count; i += 1) await writeOnce(client, q, from + i);
  } finally {
    await client.end();
  }
}

/** Each target table next to the source's projection of it (the columns the target takes). */
export async function projections(
  source: ServerInfo,
  targets: { db_1: ServerInfo; db_2: ServerInfo },
  q: string,
): Promise<{ name: string; source: unknown; target: unknown }[]> {
  const pairs: [string, ServerInfo, string, string][] = [
    ['db_1.accounts', targets.db_1, 'id, name, balance, note', 'id, name, balance, note'],
    ['db_1.events', targets.db_1, 'id, kind', 'id, kind'],
    ['db_1.logfull', targets.db_1, 'a, b', 'a, b'],
    ['db_2.accounts', targets.db_2, 'id, name, balance', 'id, full_name, balance'],
    ['db_2.events', targets.db_2, 'id, kind, payload', 'id, kind, payload'],
    ['db_2.logfull', targets.db_2, 'a, b', 'a, b'],
  ];
  const out = [];
  for (const [name, server, sourceColumns, targetColumns] of pairs) {
    const table = name.split('.')[1] ?? '';
    out.push({
      name,
      source: await tableDigest(source, `SELECT ${sourceColumns} FROM ${q}.${table}`),
      target: await tableDigest(server, `SELECT ${targetColumns} FROM ${q}.${table}`),
    });
  }
  return out;
}

export async function createTargets(
  targets: { db_1: ServerInfo; db_2: ServerInfo },
  q: string,
): Promise<void> {
  await sql(targets.db_1, `DROP SCHEMA IF EXISTS ${q} CASCADE; ${TARGET_TABLES.db_1(q)}`);
  await sql(targets.db_2, `DROP SCHEMA IF EXISTS ${q} CASCADE; ${TARGET_TABLES.db_2(q)}`);
}
