import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingExtensionNeeds } from '../../src/check/extension-needs.js';
import type { EndpointNeeds } from '../../src/check/needs.js';
import { servers, sql, sqlIn, uniqueName } from '../support/db.js';

// What check says the server-side strategies lack, asked of a real server as a superuser and as a
// plain role, in a database without the extensions and in one with them installed but locked down.
const s = servers();
const bare = uniqueName('ext_bare').toLowerCase();
const locked = uniqueName('ext_locked').toLowerCase();
const role = uniqueName('ext_probe').toLowerCase();
const password = 'extension-needs-password';

const needs = (createExtensions: boolean): EndpointNeeds => ({
  side: 'target',
  schema: 'public',
  tables: [],
  temporary: false,
  sequences: false,
  extensions: ['dblink', 'postgres_fdw'],
  createExtensions,
});

async function missing(
  database: string,
  as: 'superuser' | 'role',
  createExtensions: boolean,
): Promise<string[]> {
  const client = new pg.Client({
    ...s.target2,
    database,
    ...(as === 'role' ? { user: role, password } : {}),
  });
  await client.connect();
  try {
    return await missingExtensionNeeds(client, needs(createExtensions));
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  await sql(s.target2, `CREATE DATABASE ${bare}`);
  await sql(s.target2, `CREATE DATABASE ${locked}`);
  await sql(s.target2, `CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
  await sqlIn(
    s.target2,
    locked,
    `CREATE EXTENSION dblink; CREATE EXTENSION postgres_fdw;
     REVOKE EXECUTE ON FUNCTION dblink(text, text) FROM PUBLIC;
     REVOKE TEMPORARY ON DATABASE ${locked} FROM PUBLIC;`,
  );
});

afterAll(async () => {
  await sql(s.target2, `DROP DATABASE IF EXISTS ${bare}`);
  await sql(s.target2, `DROP DATABASE IF EXISTS ${locked}`);
  await sql(s.target2, `DROP ROLE IF EXISTS ${role}`);
});

describe('check: what dblink and postgres_fdw need on a server', () => {
  it('nothing asked, nothing missing (no query)', async () => {
    const client = new pg.Client({ ...s.target2, database: bare });
    await client.connect();
    try {
      expect(await missingExtensionNeeds(client, { ...needs(false), extensions: [] })).toEqual([]);
    } finally {
      await client.end();
    }
  });

  it('extensions not installed: a superuser must create them, unless createExtensions lets the run do it as one', async () => {
    expect(await missing(bare, 'superuser', false)).toEqual([
      'extension dblink (a superuser runs CREATE EXTENSION dblink;)',
      'extension postgres_fdw (a superuser runs CREATE EXTENSION postgres_fdw;)',
    ]);
    expect(await missing(bare, 'superuser', true)).toEqual([]);
    expect(await missing(bare, 'role', true)).toEqual([
      'extension dblink (options.createExtensions needs a superuser here)',
      'extension postgres_fdw (options.createExtensions needs a superuser here)',
    ]);
  });

  it('installed but locked down: USAGE on postgres_fdw, EXECUTE on dblink() and TEMPORARY are named; a superuser lacks none', async () => {
    expect(await missing(locked, 'role', false)).toEqual([
      'EXECUTE on dblink()',
      'USAGE on foreign data wrapper postgres_fdw',
      'TEMPORARY on the database (postgres_fdw tables live in pg_temp)',
    ]);
    expect(await missing(locked, 'superuser', false)).toEqual([]);
    await sqlIn(
      s.target2,
      locked,
      `GRANT EXECUTE ON FUNCTION dblink(text, text) TO ${role};
       GRANT USAGE ON FOREIGN DATA WRAPPER postgres_fdw TO ${role};
       GRANT TEMPORARY ON DATABASE ${locked} TO ${role};`,
    );
    expect(await missing(locked, 'role', false)).toEqual([]);
  });
});
